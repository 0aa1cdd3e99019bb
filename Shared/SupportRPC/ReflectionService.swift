import SupportProto

/// `support.reflection.v1.Reflection` on every server: the methods it
/// answers and their messages, so that a tool (`supportctl methods`) learns
/// what a running process serves instead of trusting its own build's table.
///
/// Registered last, by ``RPCServer``, over the finished router: the list is
/// fixed once the server is built, so it is made once and answered from
/// memory.
struct ReflectionService: RPCService {
    let serviceName: String

    func register(into router: inout RPCRouter) {
        var mine = Support_Reflection_V1_MethodDescriptor()
        mine.fullName = ReflectionRPC.listMethods.fullName
        mine.requestType = Support_Reflection_V1_ListMethodsRequest.protoMessageName
        mine.responseType = Support_Reflection_V1_ListMethodsResponse.protoMessageName
        var response = Support_Reflection_V1_ListMethodsResponse()
        response.service = self.serviceName
        response.methods = (router.methodDescriptors + [mine]).sorted { $0.fullName < $1.fullName }
        router.register(ReflectionRPC.listMethods, defaultTimeout: .seconds(5)) { [response] _, _ in response }
    }
}
