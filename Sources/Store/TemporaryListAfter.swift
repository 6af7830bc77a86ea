// Temporary until the `seam` branch lands `list(prefix:after:)` on every backend.
extension ObjectStore {
    func list(prefix: String, after: String?) throws(StoreError) -> [ObjectName] {
        try list(prefix: prefix).filter { after == nil || $0.path > after! }.sorted { $0.path < $1.path }
    }
}
