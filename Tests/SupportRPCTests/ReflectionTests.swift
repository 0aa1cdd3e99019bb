import Foundation
import SupportProto
import SupportRPC
import Testing
import TestSupport

/// support.reflection.v1.Reflection: every server lists what it answers.
@Suite("Reflection")
struct ReflectionTests {
    @Test("ListMethods lists every registered method with its request and response message names, Health and itself included, sorted")
    func listMethods() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let running = try await RunningServer.start(router: echoRouter(), socketPath: directory.file("s.sock"))
        let response = try await RPCClient(socketPath: running.socketPath).call(ReflectionRPC.listMethods, .init())
        #expect(response.service == "test")
        let names = response.methods.map(\.fullName)
        #expect(names == [
            "/support.health.v1.Health/Check", "/support.health.v1.Health/Status",
            "/support.reflection.v1.Reflection/ListMethods",
            "/test.Echo/Crash", "/test.Echo/Echo", "/test.Echo/Hang", "/test.Echo/Refuse",
        ])
        let echo = try #require(response.methods.first { $0.fullName == EchoRPC.echo.fullName })
        #expect(echo.requestType == "support.rpc.v1.Ping")
        #expect(echo.responseType == "support.rpc.v1.Pong")
        let itself = try #require(response.methods.first { $0.fullName == ReflectionRPC.listMethods.fullName })
        #expect(itself.requestType == "support.reflection.v1.ListMethodsRequest")
        #expect(itself.responseType == "support.reflection.v1.ListMethodsResponse")
        try await running.stop()
    }
}
