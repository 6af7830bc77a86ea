import Foundation

/// Stand-in `keepsake-media` binaries: small C programs compiled with `cc` by the test that needs them. A stand-in
/// is started exactly as the real one is (confined, as the workers' zygote), so it must be a static binary or use only
/// the system's libraries. It runs the real zygote loop (`Sources/CSeccomp/zygote.h`), which forks a child per request
/// that runs the stand-in's `static int worker_main(void)` (under the child filter, on the request's pipes and file, as
/// a real worker). `prelude` gives it the frame protocol: `read_request(buffer, size)` returns the request's JSON
/// header, `send_frame(json, payload, length)` writes one answer frame.
public enum StandInWorker {
    static let zygoteHeader = TestEnvironment.packageRoot.appendingPathComponent("Sources/CSeccomp/zygote.h").path

    public static let prelude = #"""
        #define _GNU_SOURCE
        #include "\#(zygoteHeader)"
        #include <errno.h>
        #include <fcntl.h>
        #include <signal.h>
        #include <stdint.h>
        #include <stdio.h>
        #include <stdlib.h>
        #include <string.h>
        #include <sys/mman.h>
        #include <sys/socket.h>
        #include <sys/stat.h>
        #include <netinet/in.h>
        #include <arpa/inet.h>
        #include <time.h>
        #include <unistd.h>

        static int read_fully(int fd, void *buffer, size_t count) {
            size_t done = 0;
            while (done < count) {
                ssize_t got = read(fd, (char *)buffer + done, count - done);
                if (got <= 0) return -1;
                done += (size_t)got;
            }
            return 0;
        }

        static void write_fully(int fd, const void *buffer, size_t count) {
            size_t done = 0;
            while (done < count) {
                ssize_t put = write(fd, (const char *)buffer + done, count - done);
                if (put <= 0) _exit(3);
                done += (size_t)put;
            }
        }

        static uint32_t big_endian(const unsigned char *bytes) {
            return (uint32_t)bytes[0] << 24 | (uint32_t)bytes[1] << 16 | (uint32_t)bytes[2] << 8 | bytes[3];
        }

        /* The request's JSON header (NUL-terminated), or NULL at end of input. A "metadataAndPictures" request, which
           takes two answers, comes as a "metadata" request and then a "pictures" one (padded with blanks). */
        static char *read_request(char *buffer, size_t size) {
            static const char both[] = "\"operation\":\"metadataAndPictures\"";
            static char second[1 << 16];
            if (second[0]) {
                strcpy(buffer, second);
                second[0] = 0;
                return buffer;
            }
            unsigned char lengths[8];
            if (read_fully(0, lengths, 8) != 0) return NULL;
            uint32_t total = big_endian(lengths), header = big_endian(lengths + 4);
            if (total - 4 >= size || total - 4 >= sizeof second) _exit(4);
            if (read_fully(0, buffer, total - 4) != 0) return NULL;
            buffer[header] = 0;
            char *operation = strstr(buffer, both);
            if (operation) {
                memcpy(operation, "\"operation\":\"pictures\"           ", sizeof both - 1);
                strcpy(second, buffer);
                memcpy(operation, "\"operation\":\"metadata\"           ", sizeof both - 1);
            }
            return buffer;
        }

        static void send_frame(const char *json, const void *payload, size_t length) {
            uint32_t header = (uint32_t)strlen(json), total = 4 + header + (uint32_t)length;
            unsigned char lengths[8] = { total >> 24, total >> 16, total >> 8, total, header >> 24, header >> 16, header >> 8, header };
            write_fully(1, lengths, 8);
            write_fully(1, json, header);
            if (length) write_fully(1, payload, length);
        }

        /* The request's operation: "metadata", "pictures" or "stream". */
        static const char *operation(const char *request) {
            if (strstr(request, "\"operation\":\"metadata\"")) return "metadata";
            if (strstr(request, "\"operation\":\"pictures\"")) return "pictures";
            return "stream";
        }

        /* An honest "could not produce this" answer. */
        static void not_produced(const char *request) {
            char json[256];
            snprintf(json, sizeof json, "{\"kind\":\"notProduced\",\"problem\":{\"stage\":\"%s\",\"reason\":\"stand-in\"}}", operation(request));
            send_frame(json, 0, 0);
        }

        """#

    /// The `main` of a stand-in: the real zygote loop.
    public static let zygoteMain = "int main(void) { return keepsake_zygote_run(worker_main); }"

    /// Compiles `body` (C, after `prelude`, defining `worker_main`) and `main` into a zygote at `path`; static, so
    /// that it needs no library.
    public static func compile(_ body: String, main: String = zygoteMain, to path: String) throws {
        let source = path + ".c"
        let main = "\n" + main + "\n"
        try (prelude + body + main).write(toFile: source, atomically: true, encoding: .utf8)
        let run = try runProcess("cc", ["-O1", "-static", "-o", path, source])
        guard run.status == 0 else {
            throw NSError(domain: "StandInWorker", code: Int(run.status), userInfo: [NSLocalizedDescriptionKey: "cc failed: \(run.stderrText)"])
        }
    }
}
