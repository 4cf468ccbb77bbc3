package org.medvault.app.keys;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

import org.medvault.app.AtomicFiles;
import org.medvault.app.Version;
import org.medvault.common.Digests;
import org.medvault.common.UserException;
import org.medvault.fhe.Ciphertext;
import org.medvault.fhe.ClientKey;
import org.medvault.fhe.CompactCiphertextList;
import org.medvault.fhe.CompactPublicKey;
import org.medvault.fhe.CompressedServerKey;
import org.medvault.fhe.FheConfig;
import org.medvault.fhe.FheRuntime;
import org.medvault.fhe.FheType;
import org.medvault.fhe.FheUint16;
import org.medvault.fhe.MedVaultException;
import org.medvault.fhe.SubmissionKey;

/** Key management use cases: generate a personal key set, describe it, verify it, re-protect it. */
public final class KeyManager {
    public static final String CLIENT_KEY_KIND = "client-key";
    private static final List<String> KEY_FILES = List.of(
            KeySetManifest.CLIENT_KEY, KeySetManifest.SERVER_KEY, KeySetManifest.PUBLIC_KEY, KeySetManifest.SUBMISSION_KEY,
            KeySetManifest.SUBMISSION_CRS, KeySetManifest.FILE_NAME);

    private final Consumer<String> progress;
    private final Map<Path, String> submissionKeyIds = new java.util.HashMap<>();

    /** @param progress receives one-line progress messages (the CLI prints them on stderr) */
    public KeyManager(Consumer<String> progress) {
        this.progress = progress;
    }

    // ---------------------------------------------------------------- generate

    public record FileInfo(String name, long bytes, String sha256, boolean secret) {}

    public record GenerateResult(Path directory, String keyId, String parameters, KeySetManifest.Features features,
                                 List<FileInfo> files, double seconds, Path replacedInto,
                                 KeySetManifest.Threshold threshold, String rosterFingerprint) {}

    /**
     * Generates a personal key set into {@code dir}: client.key (secret, sealed under the
     * passphrase), server.key (compressed), public.key and key.json. Existing keys are never
     * overwritten unless {@code force}; then they are moved to {@code dir/replaced-<time>/}, not deleted.
     */
    public GenerateResult generate(Path dir, FheConfig config, char[] passphrase, boolean force) {
        long start = System.nanoTime();
        List<String> existing = checkTarget(dir, force);
        progress.accept("generating client and public key");
        Map<String, byte[]> files = new LinkedHashMap<>();
        byte[] clientBytes = null;
        String keyId;
        try (ClientKey ck = ClientKey.generate(config)) {
            keyId = ck.keyId();
            addPublicParts(ck, files);
            clientBytes = ck.serialize();
            files.put(KeySetManifest.CLIENT_KEY, SecretKeyFile.seal(CLIENT_KEY_KIND, keyId, clientBytes, passphrase));
        } finally {
            if (clientBytes != null) {
                Arrays.fill(clientBytes, (byte) 0);
            }
        }
        return write(dir, keyId, config, files, null, existing, start);
    }

    /**
     * The key ceremony for threshold release: generates a key with noise squashing, deals
     * {@code threshold}-of-{@code custodians} replicated shares of its 128-bit noise-squashing
     * secret, and writes one {@code custodian-<i>.share} per custodian, sealed under that
     * custodian's passphrase together with a fresh Ed25519 signing key (whose public half goes
     * into key.json). The client key is never written: it is freed as soon as the shares are dealt,
     * so after the ceremony no single file can decrypt.
     */
    public GenerateResult generateThreshold(Path dir, FheConfig config, int custodians, int threshold, int floor,
                                            List<String> writers, List<char[]> passphrases, boolean force) {
        long start = System.nanoTime();
        checkCeremony(custodians, threshold);
        checkFloor(floor);
        if (writers.isEmpty() || writers.size() > KeySetManifest.MAX_WRITERS || new java.util.HashSet<>(writers).size() != writers.size()) {
            throw UserException.usage("a threshold key set needs 1 to " + KeySetManifest.MAX_WRITERS + " distinct vault writers"
                    + " (--writer NAME.pub): custodians release only from vaults whose every chunk a writer signed");
        }
        if (passphrases.size() != custodians) {
            throw UserException.usage(custodians + " custodians need " + custodians + " passphrases, got " + passphrases.size());
        }
        List<String> existing = checkTarget(dir, force);
        FheConfig squashing = config.withNoiseSquashing(true);
        progress.accept("generating client and public key (with noise squashing)");
        Map<String, byte[]> files = new LinkedHashMap<>();
        List<KeySetManifest.Custodian> members = new ArrayList<>();
        KeySetManifest.Threshold roster;
        String keyId;
        try (ClientKey ck = ClientKey.generate(squashing)) {
            keyId = ck.keyId();
            addPublicParts(ck, files);
            progress.accept("dealing " + threshold + "-of-" + custodians + " shares of the noise-squashing key");
            List<byte[]> shares = new ArrayList<>(org.medvault.fhe.Threshold.deal(ck, custodians, threshold));
            try {
                // The roster: every custodian's signing key, each signing the whole roster, and its
                // digest sealed into every share (what a custodian later checks a vault against).
                List<java.security.KeyPair> signing = new ArrayList<>();
                for (int i = 1; i <= custodians; i++) {
                    signing.add(CustodianShare.newSigningKeyPair());
                    members.add(new KeySetManifest.Custodian(i, KeySetManifest.shareFile(i),
                            CustodianShare.encodePublic(signing.get(i - 1).getPublic()), null));
                }
                roster = KeySetManifest.Threshold.signed(keyId, custodians, threshold, floor, writers, members,
                        i -> CustodianShare.sign(signing.get(i - 1).getPrivate(), KeySetManifest.Threshold.statement(keyId,
                                custodians, threshold, floor, writers, members)));
                String rosterDigest = roster.digest(keyId);
                for (int i = 1; i <= custodians; i++) {
                    progress.accept("sealing the share of custodian " + i);
                    byte[] payload = CustodianShare.payload(shares.get(i - 1), signing.get(i - 1).getPrivate());
                    try {
                        files.put(KeySetManifest.shareFile(i), SecretKeyFile.seal(CustodianShare.KIND, keyId, i, rosterDigest,
                                payload, passphrases.get(i - 1)));
                    } finally {
                        Arrays.fill(payload, (byte) 0);
                    }
                }
            } finally {
                shares.forEach(b -> Arrays.fill(b, (byte) 0));
            }
        } // the client key (and its squashing secret) is freed here; it was never serialized
        progress.accept("erased the client key: only the " + custodians + " sealed shares can release results");
        return write(dir, keyId, squashing, files, roster, existing, start);
    }

    /** Refuses (N, T) outside 2 ≤ T ≤ N ≤ 10 or the flooding guard, before any key is generated (usage error). */
    public static void checkCeremony(int custodians, int threshold) {
        try {
            org.medvault.fhe.Threshold.checkParameters(custodians, threshold);
        } catch (MedVaultException e) {
            throw UserException.usage("--custodians " + custodians + " --threshold " + threshold + ": " + e.getMessage());
        }
    }

    /** A cohort floor a ceremony may pin: 1..1,000,000 (the schema's own range for k). */
    public static void checkFloor(int floor) {
        if (floor < 1 || floor > KeySetManifest.MAX_FLOOR) {
            throw UserException.usage("--min-cohort-floor " + floor + ": must be between 1 and " + KeySetManifest.MAX_FLOOR);
        }
    }

    private List<String> checkTarget(Path dir, boolean force) {
        List<String> existing = existingKeyFiles(dir);
        if (!force) {
            refuseExisting(dir);
        }
        return existing; // the directory is made only when the keys are written
    }

    /** Refuses a directory that already holds key files (callers check before asking for passphrases). */
    public static void refuseExisting(Path dir) {
        List<String> existing = existingKeyFiles(dir);
        if (!existing.isEmpty()) {
            throw new UserException(dir + " already holds keys (" + String.join(", ", existing)
                    + "); use --force to replace them (the old files are kept in a replaced-<time>/ folder)");
        }
    }

    private void addPublicParts(ClientKey ck, Map<String, byte[]> files) {
        try (CompactPublicKey pk = ck.compactPublicKey()) {
            progress.accept("generating server key (compressed; this is the slow part)");
            try (CompressedServerKey sk = ck.compressedServerKey()) {
                files.put(KeySetManifest.SERVER_KEY, sk.serialize());
            }
            files.put(KeySetManifest.PUBLIC_KEY, pk.serialize());
        }
        progress.accept("making the submission key and its CRS (for proven records)");
        try (SubmissionKey sub = ck.takeSubmissionKey()) {
            files.put(KeySetManifest.SUBMISSION_KEY, sub.publicKeyBytes());
            files.put(KeySetManifest.SUBMISSION_CRS, sub.crsBytes());
        }
    }

    /**
     * Writes the files (secret ones 0600) and key.json last, which marks the set complete. Every
     * file is first written and synced into a hidden staging directory inside {@code dir}; only then
     * are old keys moved aside and the new ones renamed in (no data is copied), so a process killed
     * at any point leaves either the old key set or the complete new one — at worst a staging
     * directory, which the next run removes.
     */
    private GenerateResult write(Path dir, String keyId, FheConfig config, Map<String, byte[]> contents,
                                 KeySetManifest.Threshold threshold, List<String> existing, long start) {
        ensureDirectory(dir);
        removeStale(dir);
        Path staging = dir.resolve(STAGING_PREFIX + DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss-SSS")
                .withZone(ZoneOffset.UTC).format(Instant.now()));
        Map<String, KeySetManifest.FileDigest> digests = new LinkedHashMap<>();
        contents.forEach((name, bytes) -> digests.put(name, KeySetManifest.FileDigest.of(bytes)));
        KeySetManifest manifest = new KeySetManifest(KeySetManifest.FORMAT, keyId, FheConfig.PARAMETER_SET,
                new KeySetManifest.Features(config.compression(), config.noiseSquashing()),
                DateTimeFormatter.ISO_INSTANT.format(Instant.now().truncatedTo(ChronoUnit.SECONDS)),
                "medvault " + Version.get() + " / " + FheRuntime.nativeVersion(), digests, threshold);

        progress.accept("writing " + dir);
        List<FileInfo> files = new ArrayList<>();
        try {
            Files.createDirectory(staging, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
        } catch (IOException | UnsupportedOperationException e) {
            throw new UserException("cannot write to " + dir + ": " + e.getMessage(), e);
        }
        contents.forEach((name, bytes) -> {
            boolean secret = isSecret(name);
            AtomicFiles.write(staging.resolve(name), bytes, secret);
            files.add(new FileInfo(name, bytes.length, digests.get(name).sha256(), secret));
        });
        byte[] manifestBytes = manifest.toBytes();
        AtomicFiles.write(staging.resolve(KeySetManifest.FILE_NAME), manifestBytes, false);
        files.add(new FileInfo(KeySetManifest.FILE_NAME, manifestBytes.length, Digests.sha256(manifestBytes), false));
        Path replaced = existing.isEmpty() ? null : moveAside(dir, existing);
        try {
            for (String name : contents.keySet()) {
                Files.move(staging.resolve(name), dir.resolve(name), StandardCopyOption.ATOMIC_MOVE);
            }
            Files.move(staging.resolve(KeySetManifest.FILE_NAME), dir.resolve(KeySetManifest.FILE_NAME),
                    StandardCopyOption.ATOMIC_MOVE);
            Files.delete(staging);
        } catch (IOException e) {
            throw new UserException("cannot move the new keys into " + dir + ": " + AtomicFiles.describe(e), e);
        }
        return new GenerateResult(dir, keyId, FheConfig.PARAMETER_SET, manifest.features(), files,
                (System.nanoTime() - start) / 1e9, replaced, threshold, manifest.rosterFingerprint());
    }

    private static boolean isSecret(String name) {
        return name.equals(KeySetManifest.CLIENT_KEY) || name.endsWith(".share");
    }

    /** Every file a key set may hold: the personal set's four and up to ten custodian shares. */
    private static List<String> keyFileNames() {
        List<String> names = new ArrayList<>(KEY_FILES);
        for (int i = 1; i <= 10; i++) {
            names.add(KeySetManifest.shareFile(i));
        }
        return names;
    }

    private static List<String> existingKeyFiles(Path dir) {
        if (Files.exists(dir) && !Files.isDirectory(dir)) {
            throw UserException.usage(dir + " exists and is not a directory");
        }
        List<String> out = new ArrayList<>();
        for (String f : keyFileNames()) {
            if (Files.exists(dir.resolve(f))) {
                out.add(f);
            }
        }
        return out;
    }

    private static void ensureDirectory(Path dir) {
        try {
            if (!Files.isDirectory(dir)) {
                boolean posix = dir.toAbsolutePath().getParent() != null
                        && dir.getFileSystem().supportedFileAttributeViews().contains("posix");
                if (posix) {
                    Files.createDirectories(dir, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
                } else {
                    Files.createDirectories(dir);
                }
            }
            if (!Files.isWritable(dir)) {
                throw new UserException("cannot write to " + dir + ": permission denied");
            }
        } catch (IOException e) {
            throw new UserException("cannot create " + dir + ": " + AtomicFiles.describe(e), e);
        }
    }

    /** Staging directories of key sets whose writing was killed (each holds a partial copy). */
    static final String STAGING_PREFIX = ".incomplete-keys-";

    private void removeStale(Path dir) {
        try (java.util.stream.Stream<Path> list = Files.list(dir)) {
            for (Path p : list.filter(p -> p.getFileName().toString().startsWith(STAGING_PREFIX)).toList()) {
                try (java.util.stream.Stream<Path> walk = Files.walk(p)) {
                    for (Path q : walk.sorted(java.util.Comparator.reverseOrder()).toList()) {
                        Files.delete(q);
                    }
                }
                progress.accept("removed " + p.getFileName() + " (left by a key generation that was interrupted)");
            }
        } catch (IOException e) {
            throw new UserException("cannot clean " + dir + ": " + AtomicFiles.describe(e), e);
        }
    }

    private Path moveAside(Path dir, List<String> existing) {
        String stamp = DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss").withZone(ZoneOffset.UTC).format(Instant.now());
        Path backup = dir.resolve("replaced-" + stamp);
        try {
            Files.createDirectories(backup, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
            for (String f : existing) {
                Files.move(dir.resolve(f), backup.resolve(f), StandardCopyOption.ATOMIC_MOVE);
            }
        } catch (IOException | UnsupportedOperationException e) {
            throw new UserException("cannot move the existing keys aside into " + backup + ": " + e.getMessage(), e);
        }
        progress.accept("previous keys moved to " + backup);
        return backup;
    }

    // ---------------------------------------------------------------- info

    public record PartInfo(String file, String kind, long bytes, String keyId, String detail) {}

    public record InfoResult(Path path, String keyId, String parameters, KeySetManifest.Features features,
                             String created, List<PartInfo> parts, List<String> missing,
                             KeySetManifest.Threshold threshold, String rosterFingerprint) {}

    /** Describes a key directory or one key file. Never decrypts and never shows secret bytes. */
    public InfoResult info(Path path) {
        if (!Files.exists(path)) {
            throw new UserException(path + ": no such file or directory");
        }
        if (Files.isDirectory(path)) {
            Path manifestPath = path.resolve(KeySetManifest.FILE_NAME);
            KeySetManifest manifest = Files.exists(manifestPath)
                    ? KeySetManifest.parse(AtomicFiles.read(manifestPath, "key manifest"), manifestPath.toString()) : null;
            List<String> expected = new ArrayList<>(manifest != null ? manifest.files().keySet() : KEY_FILES);
            if (!expected.contains(KeySetManifest.FILE_NAME)) {
                expected.add(KeySetManifest.FILE_NAME);
            }
            List<PartInfo> parts = new ArrayList<>();
            List<String> missing = new ArrayList<>();
            for (String f : keyFileNames()) {
                if (Files.exists(path.resolve(f))) {
                    parts.add(describe(path.resolve(f)));
                } else if (expected.contains(f)) {
                    missing.add(f);
                }
            }
            if (parts.isEmpty()) {
                throw new UserException(path + " holds no MedVault key files (" + String.join(", ", KEY_FILES) + ")");
            }
            String keyId = manifest != null ? manifest.keyId() : parts.get(0).keyId();
            return new InfoResult(path, keyId, manifest != null ? manifest.parameters() : FheConfig.PARAMETER_SET,
                    manifest != null ? manifest.features() : null, manifest != null ? manifest.created() : null, parts, missing,
                    manifest != null ? manifest.threshold() : null, manifest != null ? manifest.rosterFingerprint() : null);
        }
        PartInfo part = describe(path);
        return new InfoResult(path, part.keyId(), FheConfig.PARAMETER_SET, null, null, List.of(part), List.of(), null, null);
    }

    private PartInfo describe(Path p) {
        byte[] data = AtomicFiles.read(p, "key file");
        String name = p.toString();
        String magic = new String(Arrays.copyOf(data, Math.min(data.length, SecretKeyFile.MAGIC.length())),
                java.nio.charset.StandardCharsets.US_ASCII);
        if (magic.equals(SecretKeyFile.MAGIC)) {
            SecretKeyFile.Header h = SecretKeyFile.readHeader(data, name);
            String who = h.custodian() != null ? " of custodian " + h.custodian() : "";
            return new PartInfo(p.getFileName().toString(), h.kind() + who + " (secret, passphrase-protected)", data.length,
                    h.keyId(), "argon2id " + h.kdf().memoryKiB() / 1024 + " MiB, " + h.kdf().iterations() + " passes, "
                            + h.kdf().parallelism() + " lanes; AES-256-GCM");
        }
        if (p.getFileName().toString().endsWith(".json") || (data.length > 0 && data[0] == '{')) {
            KeySetManifest m = KeySetManifest.parse(data, name);
            return new PartInfo(p.getFileName().toString(), "manifest", data.length, m.keyId(), "created " + m.created());
        }
        String file = p.getFileName().toString();
        if (file.equals(KeySetManifest.SUBMISSION_KEY) || file.equals(KeySetManifest.SUBMISSION_CRS)) {
            // Loading the pair checks every CRS point (~5 s): once per directory.
            String keyId = submissionKeyIds.computeIfAbsent(p.toAbsolutePath().getParent(), dir -> {
                try (SubmissionKey sub = SubmissionKey.load(AtomicFiles.read(dir.resolve(KeySetManifest.SUBMISSION_KEY), "submission key"),
                        AtomicFiles.read(dir.resolve(KeySetManifest.SUBMISSION_CRS), "submission CRS"))) {
                    return sub.keyId();
                } catch (MedVaultException e) {
                    throw new UserException(name + " is not a MedVault submission key and CRS (" + e.getMessage() + ")");
                }
            });
            return file.equals(KeySetManifest.SUBMISSION_KEY)
                    ? new PartInfo(file, "submission key (zero-knowledge public key)", data.length, keyId,
                            "for proven records from patients and portals")
                    : new PartInfo(file, "submission CRS", data.length, keyId, "proofs of up to 512 bits each");
        }
        try (CompactPublicKey pk = CompactPublicKey.deserialize(data)) {
            return new PartInfo(p.getFileName().toString(), "public key (compact)", data.length, pk.keyId(),
                    pk.isOriginal() ? "original: its hash is the key id" : "derived: valid, but not the key set's original");
        } catch (MedVaultException notPublic) {
            // fall through: try the server key
        }
        try (CompressedServerKey sk = CompressedServerKey.deserialize(data)) {
            FheConfig c = sk.config();
            return new PartInfo(p.getFileName().toString(), "server key (compressed)", data.length, sk.keyId(),
                    "compression " + onOff(c.compression()) + ", noise squashing " + onOff(c.noiseSquashing()));
        } catch (MedVaultException e) {
            throw new UserException(name + " is not a MedVault key file (" + e.getMessage() + ")");
        }
    }

    private static String onOff(boolean b) {
        return b ? "on" : "off";
    }

    // ---------------------------------------------------------------- verify

    public record Check(String name, boolean ok, String detail) {}

    public record VerifyResult(Path directory, String keyId, boolean ok, List<Check> checks) {}

    /**
     * Checks that a key directory's files belong together: digests match key.json, every file
     * carries the manifest's key id, the public key is the original one; with a passphrase, also
     * that the client key decrypts what the public key encrypts.
     */
    public VerifyResult verify(Path dir, char[] passphraseOrNull) {
        if (!Files.isDirectory(dir)) {
            throw new UserException(dir + " is not a key directory");
        }
        List<Check> checks = new ArrayList<>();
        Path manifestPath = dir.resolve(KeySetManifest.FILE_NAME);
        if (!Files.exists(manifestPath)) {
            throw new UserException(manifestPath + ": missing — not a complete MedVault key set");
        }
        KeySetManifest m = KeySetManifest.parse(AtomicFiles.read(manifestPath, "key manifest"), manifestPath.toString());
        checks.add(new Check(KeySetManifest.FILE_NAME, true, "format " + m.format() + ", key id " + m.keyId()));

        Map<String, byte[]> contents = new LinkedHashMap<>();
        List<String> names = new ArrayList<>(List.of(KeySetManifest.SERVER_KEY, KeySetManifest.PUBLIC_KEY));
        if (!m.hasThreshold()) {
            names.add(0, KeySetManifest.CLIENT_KEY);
        }
        m.files().keySet().stream().filter(f -> !names.contains(f)).forEach(names::add);
        for (String f : names) {
            Path p = dir.resolve(f);
            KeySetManifest.FileDigest expected = m.files().get(f);
            if (!Files.exists(p)) {
                boolean handedOut = f.endsWith(".share");
                checks.add(new Check(f + " digest", handedOut, handedOut ? "not here (handed to its custodian)" : "missing"));
                continue;
            }
            byte[] data = AtomicFiles.read(p, "key file");
            contents.put(f, data);
            if (expected == null) {
                checks.add(new Check(f + " digest", false, "not listed in key.json"));
            } else {
                String actual = Digests.sha256(data);
                boolean ok = actual.equals(expected.sha256()) && data.length == expected.bytes();
                checks.add(new Check(f + " digest", ok, ok ? "sha256 " + actual.substring(0, 16) + "…"
                        : "sha256 " + actual + " (" + data.length + " B) != key.json " + expected.sha256() + " ("
                                + expected.bytes() + " B)"));
            }
        }
        byte[] pub = contents.get(KeySetManifest.PUBLIC_KEY);
        if (pub != null) {
            checks.add(check("public.key key id", () -> {
                try (CompactPublicKey pk = CompactPublicKey.deserialize(pub)) {
                    if (!pk.keyId().equals(m.keyId())) {
                        return "key id " + pk.keyId() + " != " + m.keyId();
                    }
                    return pk.isOriginal() ? null : "not the original public key of this key id";
                }
            }));
        }
        byte[] subKey = contents.get(KeySetManifest.SUBMISSION_KEY);
        byte[] subCrs = contents.get(KeySetManifest.SUBMISSION_CRS);
        if (subKey == null || subCrs == null) {
            checks.add(new Check("submission key and CRS", false,
                    "missing: this key set predates proven submissions; generate a new one"));
        } else {
            checks.add(check("submission key and CRS", () -> {
                try (SubmissionKey sub = SubmissionKey.load(subKey, subCrs)) {
                    return sub.keyId().equals(m.keyId()) ? null : "key id " + sub.keyId() + " != " + m.keyId();
                }
            }));
        }
        byte[] srv = contents.get(KeySetManifest.SERVER_KEY);
        if (srv != null) {
            checks.add(check("server.key key id", () -> {
                try (CompressedServerKey sk = CompressedServerKey.deserialize(srv)) {
                    if (!sk.keyId().equals(m.keyId())) {
                        return "key id " + sk.keyId() + " != " + m.keyId();
                    }
                    FheConfig c = sk.config();
                    KeySetManifest.Features f = m.features();
                    if (f != null && (c.compression() != f.compression() || c.noiseSquashing() != f.noiseSquashing())) {
                        return "features differ from key.json";
                    }
                    return null;
                }
            }));
        }
        byte[] cli = contents.get(KeySetManifest.CLIENT_KEY);
        if (cli != null) {
            checks.add(check("client.key key id", () -> {
                SecretKeyFile.Header h = SecretKeyFile.readHeader(cli, dir.resolve(KeySetManifest.CLIENT_KEY).toString());
                return h.keyId().equals(m.keyId()) ? null : "key id " + h.keyId() + " != " + m.keyId();
            }));
            if (passphraseOrNull != null && pub != null) {
                checks.add(check("client.key decrypts public.key encryptions", () -> roundTrip(dir, cli, pub, passphraseOrNull, m.keyId())));
            }
        }
        if (m.hasThreshold()) {
            String rosterDigest = m.threshold().digest(m.keyId());
            checks.add(check("custodian roster signed by every custodian", () -> {
                m.threshold().verify(m.keyId(), KeySetManifest.FILE_NAME);
                return null;
            }));
            for (KeySetManifest.Custodian c : m.threshold().members()) {
                byte[] share = contents.get(c.share());
                if (share != null) {
                    checks.add(check(c.share() + " header", () -> {
                        SecretKeyFile.Header h = SecretKeyFile.readHeader(share, dir.resolve(c.share()).toString());
                        if (!CustodianShare.KIND.equals(h.kind()) || !Integer.valueOf(c.index()).equals(h.custodian())) {
                            return "a " + h.kind() + " of custodian " + h.custodian() + ", expected custodian " + c.index();
                        }
                        if (!rosterDigest.equals(h.roster())) {
                            return "sealed for roster " + h.roster() + ", key.json's is " + rosterDigest;
                        }
                        return h.keyId().equals(m.keyId()) ? null : "key id " + h.keyId() + " != " + m.keyId();
                    }));
                }
            }
        }
        boolean ok = checks.stream().allMatch(Check::ok);
        return new VerifyResult(dir, m.keyId(), ok, checks);
    }

    private String roundTrip(Path dir, byte[] sealed, byte[] pub, char[] passphrase, String keyId) {
        progress.accept("decrypting client.key to check it against public.key");
        byte[] secret = SecretKeyFile.open(sealed, passphrase, dir.resolve(KeySetManifest.CLIENT_KEY).toString());
        try (ClientKey ck = ClientKey.deserialize(secret); CompactPublicKey pk = CompactPublicKey.deserialize(pub);
             CompactCiphertextList list = pk.listBuilder().push(FheType.UINT16, 31_337).build()) {
            if (!ck.keyId().equals(keyId)) {
                return "decrypted key has id " + ck.keyId();
            }
            List<Ciphertext> cts = list.expand();
            try {
                long v = ck.decrypt((FheUint16) cts.get(0));
                return v == 31_337 ? null : "decrypted " + v + " instead of 31337";
            } finally {
                cts.forEach(Ciphertext::close);
            }
        } finally {
            Arrays.fill(secret, (byte) 0);
        }
    }

    private interface CheckBody {
        /** @return null when the check passes, else what is wrong */
        String run();
    }

    private static Check check(String name, CheckBody body) {
        try {
            String problem = body.run();
            return new Check(name, problem == null, problem == null ? "ok" : problem);
        } catch (UserException | MedVaultException e) {
            return new Check(name, false, e.getMessage());
        }
    }

    // ---------------------------------------------------------------- change passphrase

    /** Keeps key.json beside a re-sealed secret file truthful about its new digest. */
    private void updateManifestDigest(Path file, String keyId, byte[] newContents) {
        Path dir = file.toAbsolutePath().getParent();
        Path manifestPath = dir.resolve(KeySetManifest.FILE_NAME);
        String name = file.getFileName().toString();
        if (!Files.exists(manifestPath)) {
            return;
        }
        KeySetManifest m = KeySetManifest.parse(AtomicFiles.read(manifestPath, "key manifest"), manifestPath.toString());
        if (!m.keyId().equals(keyId) || !m.files().containsKey(name)) {
            return;
        }
        Map<String, KeySetManifest.FileDigest> files = new LinkedHashMap<>(m.files());
        files.put(name, KeySetManifest.FileDigest.of(newContents));
        KeySetManifest updated = new KeySetManifest(m.format(), m.keyId(), m.parameters(), m.features(), m.created(),
                m.createdBy(), files, m.threshold());
        AtomicFiles.write(manifestPath, updated.toBytes(), false);
        progress.accept("updated the digest of " + name + " in " + manifestPath);
    }

    public record ChangePassphraseResult(Path file, String keyId) {}

    /** Re-seals a secret key file under a new passphrase (fresh salt and nonce), atomically. */
    public ChangePassphraseResult changePassphrase(Path file, char[] oldPassphrase, char[] newPassphrase) {
        if (Files.isDirectory(file)) {
            file = file.resolve(KeySetManifest.CLIENT_KEY);
        }
        byte[] sealed = AtomicFiles.read(file, "secret key file");
        SecretKeyFile.Header h = SecretKeyFile.readHeader(sealed, file.toString());
        byte[] secret = SecretKeyFile.open(sealed, oldPassphrase, file.toString());
        try {
            if (CLIENT_KEY_KIND.equals(h.kind())) {
                try (ClientKey ck = ClientKey.deserialize(secret)) {
                    if (!ck.keyId().equals(h.keyId())) {
                        throw new UserException(file + ": the key inside has id " + ck.keyId() + ", the header says " + h.keyId());
                    }
                }
            }
            byte[] resealed = SecretKeyFile.seal(h.kind(), h.keyId(), h.custodian(), h.roster(), secret, newPassphrase);
            AtomicFiles.write(file, resealed, true);
            updateManifestDigest(file, h.keyId(), resealed);
            return new ChangePassphraseResult(file, h.keyId());
        } finally {
            Arrays.fill(secret, (byte) 0);
        }
    }
}
