package org.medvault.cli;

import picocli.AutoComplete;
import picocli.CommandLine.Command;

@Command(name = "completion", mixinStandardHelpOptions = true,
        description = {"Print a bash/zsh completion script.", "Use: source <(medvault completion)"})
final class CompletionCommand extends BaseCommand {
    @Override
    int run() {
        out().print(AutoComplete.bash("medvault", spec.root().commandLine()));
        out().flush();
        return MedVault.EXIT_OK;
    }
}
