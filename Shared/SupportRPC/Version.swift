/// The release of SupportDesk this binary belongs to, reported by Health/Status.
public enum SupportDeskVersion {
    public static let current = "0.1.0"
}
