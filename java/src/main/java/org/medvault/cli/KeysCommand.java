package org.medvault.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** {@code medvault keys …}: key management for patients and custodians. */
@Command(name = "keys", mixinStandardHelpOptions = true,
        description = "Generate, inspect, verify and protect keys.",
        subcommands = {KeysGenerateCommand.class, KeysInfoCommand.class, KeysVerifyCommand.class,
            KeysChangePassphraseCommand.class})
final class KeysCommand implements Runnable {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        throw new CommandLine.ParameterException(spec.commandLine(),
                "missing subcommand (generate, info, verify, change-passphrase)");
    }
}
