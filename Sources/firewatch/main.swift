@preconcurrency import Glibc
import Foundation

// Line-buffer stdout so records printed by long-running commands (edge, demo) show up at once in pipes.
setvbuf(stdout, nil, _IOLBF, 0)
let exitCode = CommandLineTool(root: Commands.root).run(Array(CommandLine.arguments.dropFirst()))
exit(exitCode)
