package org.medvault.cli;

import java.io.Console;
import java.io.PrintWriter;
import java.util.Map;

import org.medvault.common.UserException;
import org.medvault.fhe.MedVaultException;

import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ScopeType;
import picocli.CommandLine;

/** The {@code medvault} command: all wiring lives in {@link #commandLine}, which tests call too. */
@Command(name = "medvault",
        mixinStandardHelpOptions = true,
        versionProvider = VersionProvider.class,
        description = "Encrypted medical records under fully homomorphic encryption (TFHE-rs).",
        subcommands = {KeysCommand.class, IdentityCommand.class, VaultCommand.class, EncryptCommand.class, RecordCommand.class, QueryCommand.class,
            ResultCommand.class, DecryptCommand.class,
            CompletionCommand.class, CommandLine.HelpCommand.class},
        exitCodeListHeading = "%nExit codes:%n",
        exitCodeList = {
            "0:success",
            "1:failure (bad input data, wrong passphrase, missing or corrupt file, failed check)",
            "2:usage error (unknown option, missing argument, no passphrase source)"},
        footer = {"", "Secrets come from a prompt, --passphrase-file FILE, or the MEDVAULT_PASSPHRASE variable.",
            "Data goes to stdout (--json for scripts); progress and errors go to stderr."})
public final class MedVault implements Runnable {
    public static final int EXIT_OK = 0;
    public static final int EXIT_FAILURE = 1;
    public static final int EXIT_USAGE = 2;

    @Option(names = "--verbose", scope = ScopeType.INHERIT, description = "Show stack traces of errors.")
    boolean verbose;

    private final Map<String, String> env;
    private final Console console;

    MedVault(Map<String, String> env, Console console) {
        this.env = env;
        this.console = console;
    }

    public static void main(String[] args) {
        System.exit(commandLine(System.getenv(), System.console()).execute(args));
    }

    /** The fully wired command line, with this process environment (tests pass their own). */
    public static CommandLine commandLine(Map<String, String> env, Console console) {
        MedVault root = new MedVault(env, console);
        CommandLine cl = new CommandLine(root);
        cl.setExecutionExceptionHandler((ex, cmd, parseResult) -> {
            PrintWriter err = cmd.getErr();
            int code;
            if (ex instanceof UserException u) {
                err.println("medvault: " + u.getMessage());
                code = u.isUsage() ? EXIT_USAGE : EXIT_FAILURE;
            } else if (ex instanceof MedVaultException m) {
                err.println("medvault: " + m.getMessage() + " [" + m.code() + "]");
                code = EXIT_FAILURE;
            } else if (ex instanceof CommandLine.ParameterException p) {
                err.println("medvault: " + p.getMessage());
                err.println("Try '" + p.getCommandLine().getCommandSpec().qualifiedName() + " --help'.");
                code = EXIT_USAGE;
            } else {
                err.println("medvault: internal error: " + ex + (root.verbose ? "" : " (--verbose shows details)"));
                code = EXIT_FAILURE;
            }
            if (root.verbose) {
                ex.printStackTrace(err);
            }
            err.flush();
            return code;
        });
        cl.setParameterExceptionHandler((ex, args) -> {
            CommandLine c = ex.getCommandLine();
            PrintWriter err = c.getErr();
            err.println("medvault: " + ex.getMessage());
            CommandLine.UnmatchedArgumentException.printSuggestions(ex, err);
            err.println("Try '" + c.getCommandSpec().qualifiedName() + " --help'.");
            err.flush();
            return EXIT_USAGE;
        });
        return cl;
    }

    Map<String, String> env() {
        return env;
    }

    Console console() {
        return console;
    }

    @Override
    public void run() {
        throw new CommandLine.ParameterException(new CommandLine(this), "missing command (keys, vault, encrypt, record, query, result, decrypt, completion)");
    }
}
