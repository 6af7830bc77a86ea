import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Testing
import TestSupport

/// A media worker taken over by a hostile file gets nothing and costs that file only: stand-in `keepsake-media`
/// binaries (C, compiled here, running the real zygote loop: each attack runs in a forked worker under both filters)
/// try one attack each when handed the file `target.*`, and answer every other request honestly ("not produced"). Each attack fails or its answer is rejected: the target is reported failed with the
/// reason, nothing of it is stored, the run goes on (the other files are stored) and ends soon, with no process of the
/// stand-in left. The suite runs at both sandbox levels; the seccomp-only fallback cannot keep the worker from
/// reading its user's files, so the attacks on files run under bubblewrap only.
@Suite(.serialized) struct HostileWorkerTests {
    struct Attack: Sendable {
        var name: String
        /// The C body of `static void attack(const char *request)`; `PASSPHRASE`, `HOME_SECRET`, `LIBRARY`, `PORT`
        /// and `WRITTEN` are defined for it. It exits 42 when what it tried came to nothing.
        var code: String
        /// The reason the target fails with (a prefix).
        var reason: String
        var target = "target.jpg"
        var underSeccompAlone = true
    }

    /// Sends `what` as the reason of an honest-looking answer: the target would then be stored, and the test fails.
    static let leak = #"static void leak(const char *what) { char json[512]; snprintf(json, sizeof json, "{\"kind\":\"notProduced\",\"problem\":{\"stage\":\"metadata\",\"reason\":\"LEAKED %.400s\"}}", what); send_frame(json, 0, 0); }"#

    /// Two JPEGs of start, frame header and end only (all the parent's check reads): 160×120 and 4096×3072.
    static let frameHeaders = """
        static const unsigned char jpeg_160x120[] = { 0xFF, 0xD8, 0xFF, 0xC0, 0, 17, 8, 0, 120, 0, 160, 3, 1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1, 0xFF, 0xD9 };
        static const unsigned char jpeg_4096x3072[] = { 0xFF, 0xD8, 0xFF, 0xC0, 0, 17, 8, 0x0C, 0, 0x10, 0, 3, 1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1, 0xFF, 0xD9 };
        """

    static let attacks: [Attack] = [
        Attack(name: "read the parent's environ and memory", code: #"""
            #include <dirent.h>
            static void attack(const char *request) {
                DIR *proc = opendir("/proc");
                struct dirent *entry;
                char path[128], buffer[1 << 16];
                while (proc && (entry = readdir(proc))) {
                    int pid = atoi(entry->d_name);
                    if (pid <= 0 || pid == getpid()) continue;
                    snprintf(path, sizeof path, "/proc/%d/environ", pid);
                    int fd = open(path, O_RDONLY);
                    if (fd >= 0) {
                        ssize_t got = read(fd, buffer, sizeof buffer - 1);
                        close(fd);
                        if (got > 0 && memmem(buffer, got, PASSPHRASE, strlen(PASSPHRASE))) leak(path);
                    }
                }
                /* The memory of its parent (the zygote) and grandparent (without namespaces, keepsake; in bubblewrap,
                   bwrap's PID 1), searched for the passphrase. */
                int ancestors[2] = { getppid(), 0 };
                snprintf(path, sizeof path, "/proc/%d/stat", ancestors[0]);
                FILE *stat = fopen(path, "r");
                if (stat && fscanf(stat, "%*d (%*[^)]) %*c %d", &ancestors[1]) != 1) ancestors[1] = 0;
                for (int generation = 0; generation < 2; generation++) {
                    if (ancestors[generation] <= 0) continue;
                    snprintf(path, sizeof path, "/proc/%d/maps", ancestors[generation]);
                    FILE *maps = fopen(path, "r");
                    snprintf(path, sizeof path, "/proc/%d/mem", ancestors[generation]);
                    int memory = open(path, O_RDONLY);
                    char line[512];
                    while (maps && memory >= 0 && fgets(line, sizeof line, maps)) {
                        unsigned long start, end;
                        char permissions[8];
                        if (sscanf(line, "%lx-%lx %7s", &start, &end, permissions) != 3 || permissions[0] != 'r') continue;
                        for (unsigned long at = start; at < end; at += sizeof buffer - 64) {
                            ssize_t got = pread(memory, buffer, sizeof buffer, (off_t)at);
                            if (got <= 0) break;
                            if (memmem(buffer, got, PASSPHRASE, strlen(PASSPHRASE))) leak(path);
                        }
                    }
                }
                _exit(42);
            }
            """#, reason: "the media worker exited with status 42"),
        Attack(name: "read ~/.aws and the library's key file", code: #"""
            #include <dirent.h>
            static void attack(const char *request) {
                char buffer[256];
                int fd = open(HOME_SECRET, O_RDONLY);
                if (fd >= 0 && read(fd, buffer, sizeof buffer) > 0) leak(HOME_SECRET);
                DIR *library = opendir(LIBRARY);
                struct dirent *entry;
                char path[4096];
                while (library && (entry = readdir(library))) {
                    snprintf(path, sizeof path, "%s/%s", LIBRARY, entry->d_name);
                    fd = open(path, O_RDONLY);
                    if (fd >= 0 && read(fd, buffer, sizeof buffer) > 0) leak(path);
                }
                _exit(42);
            }
            """#, reason: "the media worker exited with status 42", underSeccompAlone: false),
        Attack(name: "open a TCP socket to a listener on loopback", code: #"""
            static void attack(const char *request) {
                int s = socket(AF_INET, SOCK_STREAM, 0);
                struct sockaddr_in address = { .sin_family = AF_INET, .sin_port = htons(PORT) };
                address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
                if (s >= 0 && connect(s, (struct sockaddr *)&address, sizeof address) == 0) leak("connected");
                _exit(42);
            }
            """#, reason: "the media worker was killed by its sandbox: a forbidden system call (SIGSYS)"),
        Attack(name: "write a file", code: #"""
            static void attack(const char *request) {
                int fd = open(WRITTEN, O_WRONLY | O_CREAT | O_TRUNC, 0644);
                if (fd >= 0 && write(fd, "pwned", 5) == 5) leak("wrote");
                _exit(42);
            }
            """#, reason: "the media worker was killed by its sandbox: a forbidden system call (SIGSYS)"),
        Attack(name: "fork-bomb", code: #"""
            static void attack(const char *request) {
                for (int round = 0; round < 64; round++) fork();
                leak("forked");
            }
            """#, reason: "the media worker was killed by its sandbox: a forbidden system call (SIGSYS)"),
        Attack(name: "run a program", code: #"""
            static void attack(const char *request) {
                /* Any program: the call itself is what the filter forbids (this one would fail with ENOENT). */
                char *arguments[] = { "absent", 0 };
                execve("/absent-program", arguments, environ);
                _exit(42);
            }
            """#, reason: "the media worker was killed by its sandbox: a forbidden system call (SIGSYS)"),
        Attack(name: "reach for the zygote's socket", code: #"""
            static void attack(const char *request) {
                struct stat info;
                for (int fd = 0; fd < 1024; fd++) if (fstat(fd, &info) == 0 && S_ISSOCK(info.st_mode)) leak("found a socket");
                /* A forged report where the zygote's socket was (its fd 0): "request 1 ended well". */
                struct keepsake_zygote_report forged = { 1, KEEPSAKE_ZYGOTE_ENDED, 0 };
                keepsake_send_with_fds(0, &forged, sizeof forged, 0, 0);
                _exit(42);
            }
            """#, reason: "the media worker was killed by its sandbox: a forbidden system call (SIGSYS)"),
        Attack(name: "kill the zygote", code: #"""
            static void attack(const char *request) {
                /* An abort is the one signal a worker may send; the files after this one get a new zygote. */
                pid_t zygote = getppid();
                syscall(SYS_tgkill, zygote, zygote, SIGABRT);
                pause();
                _exit(42);
            }
            """#, reason: "the media worker ended with its zygote"),
        Attack(name: "allocate 10 GB", code: #"""
            static void attack(const char *request) {
                size_t size = (size_t)10 << 30;
                char *memory = mmap(0, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
                if (memory == MAP_FAILED) _exit(42);
                for (size_t offset = 0; offset < size; offset += 1 << 30) memory[offset] = 1;
                leak("allocated");
            }
            """#, reason: "the media worker exited with status 42"),
        Attack(name: "spin forever", code: #"""
            static void attack(const char *request) { for (volatile unsigned long n = 0;; n++) {} }
            """#, reason: "the media worker hung: no answer within 2 s; killed"),
        Attack(name: "answer random bytes and exit", code: #"""
            static void attack(const char *request) {
                unsigned char noise[100000];
                unsigned state = 12345;
                for (size_t index = 0; index < sizeof noise; index++) { state = state * 1103515245 + 12345; noise[index] = state >> 16; }
                noise[0] = 0xFF;
                write_fully(1, noise, sizeof noise);
                _exit(0);
            }
            """#, reason: "the media worker sent a malformed answer (lengths "),
        Attack(name: "return a 100 MB thumbnail", code: #"""
            static void attack(const char *request) {
                static char zeros[1 << 20];
                const char *json = "{\"kind\":\"pictures\",\"thumbnailByteCount\":1}";
                uint32_t header = (uint32_t)strlen(json), total = 4 + header + (100u << 20);
                unsigned char lengths[8] = { total >> 24, total >> 16, total >> 8, total, 0, 0, 0, header };
                write_fully(1, lengths, 8);
                write_fully(1, json, header);
                for (int mebibyte = 0; mebibyte < 100; mebibyte++) write_fully(1, zeros, sizeof zeros);
                _exit(0);
            }
            """#, reason: "the media worker sent a malformed answer (lengths "),
        Attack(name: "return a thumbnail that is not a JPEG", code: #"""
            static void attack(const char *request) {
                if (strcmp(operation(request), "pictures") != 0) { not_produced(request); return; }
                static char page[4096];
                memset(page, 'A', sizeof page);
                send_frame("{\"kind\":\"pictures\",\"thumbnailByteCount\":4096}", page, sizeof page);
            }
            """#, reason: "the media worker answered a thumbnail that is not one: no JPEG start of image; the file is not stored"),
        Attack(name: "return a rendition over 2048 px", code: #"""
            \#(Self.frameHeaders)
            static void attack(const char *request) {
                if (strcmp(operation(request), "pictures") != 0) { not_produced(request); return; }
                unsigned char both[2 * sizeof(jpeg_160x120)];
                memcpy(both, jpeg_160x120, sizeof jpeg_160x120);
                memcpy(both + sizeof jpeg_160x120, jpeg_4096x3072, sizeof jpeg_4096x3072);
                char json[128];
                snprintf(json, sizeof json, "{\"kind\":\"pictures\",\"thumbnailByteCount\":%zu}", sizeof jpeg_160x120);
                send_frame(json, both, sizeof both);
            }
            """#, reason: "the media worker answered a rendition that is not one: a JPEG of 4096×3072, over 2048 a side; the file is not stored"),
        Attack(name: "return a rendition for a JPEG", code: #"""
            \#(Self.frameHeaders)
            static void attack(const char *request) {
                if (strcmp(operation(request), "pictures") != 0) { not_produced(request); return; }
                unsigned char both[2 * sizeof(jpeg_160x120)];
                memcpy(both, jpeg_160x120, sizeof jpeg_160x120);
                memcpy(both + sizeof jpeg_160x120, jpeg_160x120, sizeof jpeg_160x120);
                char json[128];
                snprintf(json, sizeof json, "{\"kind\":\"pictures\",\"thumbnailByteCount\":%zu}", sizeof jpeg_160x120);
                send_frame(json, both, sizeof both);
            }
            """#, reason: "the media worker answered a rendition for a format that needs none (jpeg); the file is not stored"),
        Attack(name: "return a huge or negative metadata value", code: #"""
            static void attack(const char *request) {
                if (strcmp(operation(request), "metadata") != 0) { not_produced(request); return; }
                send_frame("{\"kind\":\"metadata\",\"metadata\":{\"format\":\"jpeg\",\"width\":-5,\"height\":100000000,"
                           "\"durationSeconds\":1e300,\"sources\":{}}}", 0, 0);
            }
            """#, reason: "the media worker answered metadata no file can hold: size -5×100000000; the file is not stored"),
    ]

    enum Level: String, CaseIterable, Sendable { case bubblewrap, seccomp }

    /// Run as root, the suite runs again as an unprivileged user (`setpriv`), where bubblewrap needs the kernel's
    /// unprivileged user namespaces.
    static let canDropPrivileges = getuid() == 0 && FileManager.default.isExecutableFile(atPath: "/usr/bin/setpriv")
    static let nobody: uid_t = 65534

    static var cases: [(String, Level, Bool)] {
        Level.allCases.flatMap { level in attacks.filter { level == .bubblewrap || $0.underSeccompAlone }.map { ($0.name, level, false) } }
            + (canDropPrivileges ? attacks.map { ($0.name, Level.bubblewrap, true) } : [])
    }

    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/cc"), "needs cc"), arguments: cases)
    func aHostileWorkerGetsNothingAndCostsItsFile(_ name: String, _ level: Level, _ unprivileged: Bool) throws {
        let attack = try #require(Self.attacks.first { $0.name == name })
        let base = try TestEnvironment.makeTempDirectory("keepsake-hostile-worker")
        defer { try? FileManager.default.removeItem(at: base) }
        let bin = base.appendingPathComponent("bin").path, home = base.appendingPathComponent("home").path
        let folder = base.appendingPathComponent("in").path, library = base.appendingPathComponent("lib").path
        for directory in [bin, home + "/.aws", folder] { try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true) }
        let homeSecret = home + "/.aws/credentials", written = base.appendingPathComponent("written").path
        try "[default]\naws_secret_access_key = hostile-test-secret\n".write(toFile: homeSecret, atomically: true, encoding: .utf8)
        let passphrase = "hostile test \(UUID().uuidString)"

        // A listener on loopback that the socket attack aims at.
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(listener) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        try withUnsafeMutablePointer(to: &address) { pointer in
            try pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                try #require(bind(listener, $0, length) == 0 && listen(listener, 8) == 0 && getsockname(listener, $0, &length) == 0)
            }
        }
        let port = UInt16(bigEndian: address.sin_port)
        _ = fcntl(listener, F_SETFL, O_NONBLOCK)

        // `keepsake` starts the `keepsake-media` beside the binary it runs from.
        let keepsake = bin + "/keepsake"
        if link(Keepsake.binary, keepsake) != 0 { try FileManager.default.copyItem(atPath: Keepsake.binary, toPath: keepsake) }
        let standIn = bin + "/keepsake-media"
        func quoted(_ text: String) -> String { "\"" + text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\"" }
        try StandInWorker.compile("""
            /* Reversed in the binary, whose text the zygote maps too: only the worker that searches holds it forwards. */
            static char *forwards(const char *reversed) {
                static char text[256];
                size_t length = strlen(reversed);
                for (size_t index = 0; index < length && index < sizeof text - 1; index++) text[index] = reversed[length - 1 - index];
                text[length < sizeof text ? length : sizeof text - 1] = 0;
                return text;
            }
            #define PASSPHRASE forwards(\(quoted(String(passphrase.reversed()))))
            #define HOME_SECRET \(quoted(homeSecret))
            #define LIBRARY \(quoted(library))
            #define WRITTEN \(quoted(written))
            #define PORT \(port)
            \(Self.leak)
            \(attack.code)
            static int worker_main(void) {
                char request[1 << 16];
                while (read_request(request, sizeof request)) {
                    if (strstr(request, "\\"name\\":\\"target.")) attack(request); else not_produced(request);
                }
                return 0;
            }
            """, to: standIn)

        let samples = TestEnvironment.samples.appendingPathComponent("media/cameras").path
        try FileManager.default.copyItem(atPath: samples + "/osxphotos__Pumkins1.jpg", toPath: folder + "/" + attack.target)
        for name in ["osxphotos__wedding.jpg", "osxphotos__Tulips.jpg"] {
            try FileManager.default.copyItem(atPath: samples + "/" + name, toPath: folder + "/" + name)
        }

        var command = ["timeout", "-k", "5", "120", keepsake, "ingest", folder, "--library", library, "--json",
                       "--jobs", "1", "--worker-timeout", "2"]
        if unprivileged {
            // Everything the run needs belongs to the user it runs as; the build folder is readable by all.
            let owned = try FileManager.default.subpathsOfDirectory(atPath: base.path).map { base.path + "/" + $0 } + [base.path]
            for path in owned where path != keepsake { chown(path, Self.nobody, Self.nobody) }  // keepsake: a link to the build's
            command = ["setpriv", "--reuid=\(Self.nobody)", "--regid=\(Self.nobody)", "--clear-groups"] + command
        }
        let started = ContinuousClock.now
        let run = try runProcess(command[0], Array(command.dropFirst()),
                                 environment: ["KEEPSAKE_PASSPHRASE": passphrase, "HOME": home,
                                               "AWS_SECRET_ACCESS_KEY": "hostile-test-secret", "KEEPSAKE_WORKER_SANDBOX": level.rawValue])
        let elapsed = ContinuousClock.now - started
        #expect(run.status == 1, "exit \(run.status) after \(elapsed): \(run.stderrText)")
        #expect(elapsed < .seconds(60), "the run ended, and soon")
        let lines = run.stdoutText.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        let failed = lines.filter { $0["status"] as? String == "failed" }
        #expect(failed.count == 1 && (failed.first?["path"] as? String)?.hasSuffix(attack.target) == true, "\(run.stdoutText)")
        let reason = failed.first?["reason"] as? String ?? ""
        #expect(reason.hasPrefix(attack.reason), "\(reason)")
        #expect(!run.stdoutText.contains("LEAKED"))
        #expect(lines.last?["images"] as? Int == 2 && lines.last?["failed"] as? Int == 1, "the run went on: \(run.stdoutText)")

        // What the attacks aimed at is untouched, and nothing of the stand-in is still running.
        var peer = sockaddr()
        var peerLength = socklen_t(MemoryLayout<sockaddr>.size)
        #expect(accept(listener, &peer, &peerLength) < 0, "the listener was never connected to")
        #expect(!FileManager.default.fileExists(atPath: written))
        for entry in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] where Int32(entry) != nil {
            let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(entry)/exe")) ?? ""
            let stat = (try? String(contentsOfFile: "/proc/\(entry)/stat", encoding: .utf8)) ?? ""
            let state = stat.split(separator: ")").last?.split(separator: " ").first
            #expect(exe != standIn || state == "Z" || stat.isEmpty, "process \(entry) of the stand-in is still running")
        }

        let list = try Keepsake.run(["ls", "--json", "--library", library], environment: ["KEEPSAKE_PASSPHRASE": passphrase])
        #expect(list.status == 0 && !list.stdoutText.contains(attack.target), "nothing of the target is stored: \(list.stdoutText)")
        let verify = try Keepsake.run(["verify", "--read-data", "--library", library], environment: ["KEEPSAKE_PASSPHRASE": passphrase])
        #expect(verify.status == 0, "\(verify.stdoutText)")
    }

    /// `status` says which sandbox is in force, and the switch that forbids bubblewrap is obeyed.
    @Test(arguments: Level.allCases)
    func statusNamesTheSandbox(_ level: Level) throws {
        let base = try TestEnvironment.makeTempDirectory("keepsake-sandbox-status")
        defer { try? FileManager.default.removeItem(at: base) }
        let library = base.appendingPathComponent("lib").path
        let environment = ["KEEPSAKE_PASSPHRASE": "test passphrase", "KEEPSAKE_WORKER_SANDBOX": level.rawValue]
        let empty = base.appendingPathComponent("empty").path
        try FileManager.default.createDirectory(atPath: empty, withIntermediateDirectories: true)
        let ingest = try Keepsake.run(["ingest", empty, "--library", library], environment: environment)
        #expect(ingest.status == 0, "\(ingest.stderrText)")
        let status = try Keepsake.run(["status", "--json", "--library", library], environment: environment)
        let object = try #require(try JSONSerialization.jsonObject(with: status.stdout) as? [String: Any], "\(status.stderrText)")
        #expect(object["workerSandbox"] as? String == level.rawValue, "\(object)")
        let text = try Keepsake.run(["status", "--library", library], environment: environment)
        #expect(text.stdoutText.contains("media workers: sandboxed by \(level.rawValue)"), "\(text.stdoutText)")
    }
}
