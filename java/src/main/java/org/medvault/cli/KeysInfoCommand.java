package org.medvault.cli;

import java.nio.file.Path;

import org.medvault.app.keys.KeyManager;

import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Parameters;

@Command(name = "info", mixinStandardHelpOptions = true,
        description = "Describe a key directory or key file: key id, parameters, sizes, parts present. Never shows secrets.")
final class KeysInfoCommand extends BaseCommand {
    @Parameters(paramLabel = "PATH", description = "A key directory, or one of its files.")
    Path path;

    @Mixin
    OutputOptions output;

    @Override
    int run() {
        KeyManager.InfoResult r = new KeyManager(m -> progress(output.quiet, m)).info(path);
        if (output.json) {
            printJson(r);
            return MedVault.EXIT_OK;
        }
        out().println("Path:       " + r.path());
        out().println("Key id:     " + r.keyId());
        out().println("Parameters: " + r.parameters());
        if (r.features() != null) {
            out().println("Features:   compression " + (r.features().compression() ? "on" : "off") + ", noise squashing "
                    + (r.features().noiseSquashing() ? "on" : "off"));
        }
        if (r.threshold() != null) {
            out().println("Threshold:  " + r.threshold().threshold() + " of " + r.threshold().custodians()
                    + " custodians release a result; no client key exists");
            out().println("Roster:     fingerprint " + r.rosterFingerprint() + "; no release shows a cohort under "
                    + r.threshold().floor());
            out().println("Writers:    " + (r.threshold().writerKeys().isEmpty() ? "none (made before writers were pinned: custodians"
                    + " release nothing under it)" : String.join(", ", r.threshold().writerKeys().stream()
                    .map(org.medvault.app.keys.Identity::fingerprint).toList())));
        }
        if (r.created() != null) {
            out().println("Created:    " + r.created());
        }
        out().println("Parts:");
        for (KeyManager.PartInfo p : r.parts()) {
            String idNote = p.keyId() != null && !p.keyId().equals(r.keyId()) ? "  (OTHER KEY " + p.keyId() + ")" : "";
            out().printf("  %-18s %10s  %s — %s%s%n", p.file(), size(p.bytes()), p.kind(), p.detail(), idNote);
        }
        if (!r.missing().isEmpty()) {
            out().println("Missing:    " + String.join(", ", r.missing()));
        }
        out().flush();
        return MedVault.EXIT_OK;
    }
}
