package org.medvault.cli;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

import org.medvault.app.keys.Identity;
import org.medvault.app.keys.KeyManager;
import org.medvault.app.keys.KeySetManifest;
import org.medvault.common.UserException;
import org.medvault.fhe.FheConfig;

import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "generate", mixinStandardHelpOptions = true,
        description = {"Generate a personal key set: client.key (secret, passphrase-protected),",
            "server.key, public.key and key.json. Existing keys are never overwritten",
            "without --force.",
            "",
            "With --custodians N --threshold T, run the key ceremony for threshold",
            "release instead: the key gets noise squashing, its decryption secret is",
            "dealt into N custodian-<i>.share files (each sealed under custodian i's",
            "passphrase, with an Ed25519 signing key) so that any T of them release a",
            "result and fewer learn nothing; no client.key is ever written. Custodian",
            "i's passphrase comes from the i-th file of --share-passphrase-files, else",
            "$MEDVAULT_PASSPHRASE_<i>, else a prompt. The roster (custodians' signing",
            "keys, T, N and --min-cohort-floor) is signed by every custodian; publish",
            "its fingerprint: whoever combines a release checks it (--roster)."})
final class KeysGenerateCommand extends BaseCommand {
    @Option(names = {"-o", "--out"}, paramLabel = "DIR", defaultValue = "${sys:user.home}/.medvault",
            description = "Directory for the key set (created 0700 if missing). Default: ${DEFAULT-VALUE}")
    Path out;

    @Option(names = "--compression", description = "Add compression keys (compact storage of computed results).")
    boolean compression;

    @Option(names = "--noise-squashing", description = "Add the noise-squashing key (needed for threshold release; large).")
    boolean noiseSquashing;

    @Option(names = "--custodians", paramLabel = "N", description = "Threshold key: number of custodians (2..10).")
    Integer custodians;

    @Option(names = "--threshold", paramLabel = "T", description = "Threshold key: custodians needed to release a result (2..N).")
    Integer threshold;

    @Option(names = "--min-cohort-floor", paramLabel = "K",
            description = {"Threshold key: the smallest cohort any release may show, pinned in the signed roster;",
                "no vault with a smaller k is created and no custodian signs below it. Default: "
                    + KeySetManifest.Threshold.DEFAULT_FLOOR + "."})
    Integer minCohortFloor;

    @Option(names = "--writer", paramLabel = "NAME.pub",
            description = {"Threshold key: the public identity of an admin who may write vaults of this key (repeat for",
                "several; 'medvault identity create' makes one). Required: custodians release only from vaults",
                "whose every chunk a writer signed."})
    List<Path> writers;

    @Option(names = "--share-passphrase-files", paramLabel = "FILE", split = ",",
            description = "Threshold key: one passphrase file per custodian, in custodian order (comma-separated).")
    List<Path> sharePassphraseFiles;

    @Option(names = "--force", description = "Replace existing keys; the old files are moved to DIR/replaced-<time>/.")
    boolean force;

    @Mixin
    PassphraseFileOption passphrase;

    @Mixin
    NewPassphraseOptions newPassphrase;

    @Mixin
    OutputOptions output;

    @Override
    int run() {
        FheConfig config = FheConfig.defaults().withCompression(compression).withNoiseSquashing(noiseSquashing);
        if (custodians != null || threshold != null || sharePassphraseFiles != null) {
            return ceremony(config);
        }
        newPassphrase.refuseBoth(passphrase.file);
        if (!force) {
            KeyManager.refuseExisting(out); // before a passphrase is asked for, or generated into a file
        }
        char[] secret = newPassphrase.generate != null ? newPassphrase.generated("client.key")
                : passphrase.obtain(root(), "new passphrase for client.key", true);
        KeyManager.GenerateResult r;
        try {
            newPassphrase.check(secret, "the passphrase for client.key", m -> progress(output.quiet, m));
            if (newPassphrase.generate != null) {
                progress(output.quiet, "passphrase generated into " + newPassphrase.generate + " (mode 0600; not printed)");
            }
            r = new KeyManager(m -> progress(output.quiet, m)).generate(out, config, secret, force);
        } finally {
            Passphrases.wipe(secret);
        }
        if (output.json) {
            printJson(r);
            return MedVault.EXIT_OK;
        }
        print(r);
        return MedVault.EXIT_OK;
    }

    private int ceremony(FheConfig config) {
        if (custodians == null || threshold == null) {
            throw UserException.usage("a threshold key needs both --custodians N and --threshold T");
        }
        if (newPassphrase.generate != null) {
            throw UserException.usage("--generate-passphrase is for a personal client.key; each custodian chooses their own");
        }
        if (passphrase.file != null) {
            throw UserException.usage("--passphrase-file is for a personal client.key; give custodians' passphrases with"
                    + " --share-passphrase-files or $MEDVAULT_PASSPHRASE_<i>");
        }
        if (sharePassphraseFiles != null && sharePassphraseFiles.size() != custodians) {
            throw UserException.usage("--share-passphrase-files lists " + sharePassphraseFiles.size() + " files for "
                    + custodians + " custodians");
        }
        KeyManager.checkCeremony(custodians, threshold); // before any passphrase prompt
        int floor = minCohortFloor == null ? KeySetManifest.Threshold.DEFAULT_FLOOR : minCohortFloor;
        KeyManager.checkFloor(floor);
        if (writers == null || writers.isEmpty()) {
            throw UserException.usage("a threshold key set needs --writer NAME.pub: the admin identity (or identities) whose"
                    + " signed chunks custodians will release from ('medvault identity create --out NAME.id' makes one)");
        }
        List<String> writerKeys = writers.stream().map(w -> Identity.readPublic(w).publicKey()).toList();
        List<char[]> secrets = new ArrayList<>();
        KeyManager.GenerateResult r;
        try {
            for (int i = 1; i <= custodians; i++) {
                Path file = sharePassphraseFiles == null ? null : sharePassphraseFiles.get(i - 1);
                char[] p = Passphrases.obtain(file, Passphrases.ENV + "_" + i, "--share-passphrase-files", root().env(),
                        root().console(), "new passphrase for custodian " + i + "'s share", true);
                for (int j = 0; j < secrets.size(); j++) {
                    if (Arrays.equals(secrets.get(j), p)) {
                        progress(output.quiet, "warning: custodians " + (j + 1) + " and " + i + " have the same passphrase;"
                                + " whoever knows it holds both shares");
                    }
                }
                secrets.add(p);
                newPassphrase.check(p, "custodian " + i + "'s passphrase", m -> progress(output.quiet, m));
            }
            r = new KeyManager(m -> progress(output.quiet, m)).generateThreshold(out, config, custodians, threshold,
                    floor, writerKeys, secrets, force);
        } finally {
            secrets.forEach(Passphrases::wipe);
        }
        if (output.json) {
            printJson(r);
            return MedVault.EXIT_OK;
        }
        print(r);
        out().println("Roster fingerprint: " + r.rosterFingerprint() + "  (publish it: every release is checked against it)");
        out().println("Cohort floor: no release shows a cohort smaller than " + r.threshold().floor());
        out().println("Vault writers: " + String.join(", ", r.threshold().writerKeys().stream().map(Identity::fingerprint).toList())
                + " (custodians release only from chunks they signed)");
        out().printf("Release needs %d of the %d custodians. Hand custodian-<i>.share to custodian i (then delete it here);%n"
                + "server.key goes to analysts and custodians (they re-derive results before releasing),%n"
                + "public.key and key.json to whoever creates the vault (it pins the custodian roster), key.json to everyone.%n",
                threshold, custodians);
        out().flush();
        return MedVault.EXIT_OK;
    }

    private void print(KeyManager.GenerateResult r) {
        String kind = r.threshold() == null ? "key set"
                : r.threshold().threshold() + "-of-" + r.threshold().custodians() + " threshold key set";
        out().printf(Locale.ROOT, "Generated %s %s in %s (%.1f s)%n", kind, r.keyId(), r.directory(), r.seconds());
        for (KeyManager.FileInfo f : r.files()) {
            out().printf(Locale.ROOT, "  %-18s %10s  %s%n", f.name(), size(f.bytes()), role(f.name()));
        }
        if (r.replacedInto() != null) {
            out().println("Previous keys kept in " + r.replacedInto());
        }
        out().flush();
    }

    private static String role(String name) {
        return switch (name) {
            case "client.key" -> "SECRET: decrypts everything; passphrase-protected (Argon2id + AES-256-GCM), mode 0600";
            case "server.key" -> "public: lets an analyst compute on your ciphertexts";
            case "public.key" -> "public: lets anyone encrypt data for you";
            case "submission.key" -> "public: lets patients and portals submit proven records";
            case "submission.crs" -> "public: the reference string their proofs are made and checked with";
            case "key.json" -> "public: key id, parameters, file digests; the roster: custodians' keys, writers, floor";
            default -> name.endsWith(".share")
                    ? "SECRET: one custodian's share and signing key; under that custodian's passphrase, mode 0600"
                    : "public";
        };
    }
}
