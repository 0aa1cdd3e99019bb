import SupportCtl

@main
enum SupportCtlMain {
    static func main() async {
        await SupportCtl.runMain()
    }
}
