package org.medvault.cli;

import picocli.CommandLine.Option;

/** {@code --json} and {@code --quiet}, shared by every command that reports something. */
final class OutputOptions {
    @Option(names = "--json", description = "Print the result as JSON on stdout (for scripts).")
    boolean json;

    @Option(names = {"-q", "--quiet"}, description = "No progress messages on stderr.")
    boolean quiet;
}
