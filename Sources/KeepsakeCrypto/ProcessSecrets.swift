import CSodium
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// What keeps this process's secrets from other processes: no core dumps and no `/proc/<pid>/mem` or `environ` for
/// others of the same user (`PR_SET_DUMPABLE` 0), and the passphrase variables taken out of the environment, their
/// bytes in the process's initial environment block overwritten (`/proc/<pid>/environ` reads that block, not
/// `environ`), so that nothing started later inherits them.
public enum ProcessSecrets {
    /// The variables that hold passphrases.
    public static let variables = ["KEEPSAKE_PASSPHRASE", "KEEPSAKE_NEW_PASSPHRASE"]
    private static let taken = Mutex<[String: String]>([:])

    /// Call first thing in `main`, before any thread is started.
    public static func protect() {
        _ = keepsake_forbid_dumps()
        for name in variables {
            guard let value = getenv(name) else { continue }
            let length = strlen(value)
            let copy = String(cString: value)
            unsetenv(name)  // takes the entry out of `environ`; its bytes stay where they were
            // The entry is "NAME=value", the value right after the '='.
            let entry = UnsafeMutableRawPointer(value) - (name.utf8.count + 1)
            sodium_memzero(entry, name.utf8.count + 1 + length)
            if !copy.isEmpty { taken.withLock { $0[name] = copy } }
        }
    }

    /// The passphrase `protect` took from the environment variable `name`, once: it is forgotten after.
    public static func take(_ name: String) -> String? {
        taken.withLock { $0.removeValue(forKey: name) }
    }
}
