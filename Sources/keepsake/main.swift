import ArgumentParser
import Foundation
import KeepsakeCrypto
import Logging
import Store

/// Logs go to stderr; `KEEPSAKE_LOG_LEVEL` (trace, debug, info, notice, warning, error) sets how much, `warning` by default.
func bootstrapLogging() {
    let level = ProcessInfo.processInfo.environment["KEEPSAKE_LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) ?? .warning
    LoggingSystem.bootstrap { label in
        var handler = StreamLogHandler.standardError(label: label)
        handler.logLevel = level
        return handler
    }
}

/// Parses and runs the command, mapping every error to SPEC 1's exit statuses.
func runMain() -> Int32 {
    do {
        var command = try Keepsake.parseAsRoot()
        try command.run()
        return 0
    } catch let exit as ExitCode {
        return exit.rawValue
    } catch let error as any KeepsakeError {
        printError("keepsake: \(error.message)")
        return error.exitStatus
    } catch {
        let code = Keepsake.exitCode(for: error)
        let message = Keepsake.fullMessage(for: error)
        if code == .success {
            print(message)
            return 0
        }
        printError(message)
        return 2
    }
}

ProcessSecrets.protect()
bootstrapLogging()
exit(runMain())
