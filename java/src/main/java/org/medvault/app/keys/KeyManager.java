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
import org.medvault.app.UserException;
import org.medvault.app.Version;
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

/** Key management use cases: generate a personal key set, describe it, verify it, re-protect it. */
public final class KeyManager {
    public static final String CLIENT_KEY_KIND = "client-key";
    private static final List<String> KEY_FILES = List.of(
            KeySetManifest.CLIENT_KEY, KeySetManifest.SERVER_KEY, KeySetManifest.PUBLIC_KEY, KeySetManifest.FILE_NAME);

    private final Consumer<String> progress;

    /** @param progress receives one-line progress messages (the CLI prints them on stderr) */
    public KeyManager(Consumer<String> progress) {
        this.progress = progress;
    }

    // ---------------------------------------------------------------- generate

    public record FileInfo(String name, long bytes, String sha256, boolean secret) {}

    public record GenerateResult(Path directory, String keyId, String parameters, KeySetManifest.Features features,
                                 List<FileInfo> files, double seconds, Path replacedInto) {}

    /**
     * Generates a personal key set into {@code dir}: client.key (secret, sealed under the
     * passphrase), server.key (compressed), public.key and key.json. Existing keys are never
     * overwritten unless {@code force}; then they are moved to {@code dir/replaced-<time>/}, not deleted.
     */
    public GenerateResult generate(Path dir, FheConfig config, char[] passphrase, boolean force) {
        long start = System.nanoTime();
        List<String> existing = existingKeyFiles(dir);
        if (!existing.isEmpty() && !force) {
            throw new UserException(dir + " already holds keys (" + String.join(", ", existing)
                    + "); use --force to replace them (the old files are kept in a replaced-<time>/ folder)");
        }
        ensureDirectory(dir);

        progress.accept("generating client and public key");
        byte[] clientBytes = null;
        byte[] sealed;
        byte[] publicBytes;
        byte[] serverBytes;
        String keyId;
        try (ClientKey ck = ClientKey.generate(config); CompactPublicKey pk = ck.compactPublicKey()) {
            keyId = ck.keyId();
            progress.accept("generating server key (compressed; this is the slow part)");
            try (CompressedServerKey sk = ck.compressedServerKey()) {
                serverBytes = sk.serialize();
            }
            publicBytes = pk.serialize();
            clientBytes = ck.serialize();
            sealed = SecretKeyFile.seal(CLIENT_KEY_KIND, keyId, clientBytes, passphrase);
        } finally {
            if (clientBytes != null) {
                Arrays.fill(clientBytes, (byte) 0);
            }
        }

        Path replaced = existing.isEmpty() ? null : moveAside(dir, existing);
        Map<String, KeySetManifest.FileDigest> digests = new LinkedHashMap<>();
        digests.put(KeySetManifest.CLIENT_KEY, KeySetManifest.FileDigest.of(sealed));
        digests.put(KeySetManifest.SERVER_KEY, KeySetManifest.FileDigest.of(serverBytes));
        digests.put(KeySetManifest.PUBLIC_KEY, KeySetManifest.FileDigest.of(publicBytes));
        KeySetManifest manifest = new KeySetManifest(KeySetManifest.FORMAT, keyId, FheConfig.PARAMETER_SET,
                new KeySetManifest.Features(config.compression(), config.noiseSquashing()),
                DateTimeFormatter.ISO_INSTANT.format(Instant.now().truncatedTo(ChronoUnit.SECONDS)),
                "medvault " + Version.get() + " / " + FheRuntime.nativeVersion(), digests);

        progress.accept("writing " + dir);
        AtomicFiles.write(dir.resolve(KeySetManifest.CLIENT_KEY), sealed, true);
        AtomicFiles.write(dir.resolve(KeySetManifest.SERVER_KEY), serverBytes, false);
        AtomicFiles.write(dir.resolve(KeySetManifest.PUBLIC_KEY), publicBytes, false);
        byte[] manifestBytes = manifest.toBytes();
        AtomicFiles.write(dir.resolve(KeySetManifest.FILE_NAME), manifestBytes, false); // last: marks the set complete

        List<FileInfo> files = new ArrayList<>();
        digests.forEach((name, d) -> files.add(new FileInfo(name, d.bytes(), d.sha256(), name.equals(KeySetManifest.CLIENT_KEY))));
        files.add(new FileInfo(KeySetManifest.FILE_NAME, manifestBytes.length, KeySetManifest.sha256(manifestBytes), false));
        return new GenerateResult(dir, keyId, FheConfig.PARAMETER_SET, manifest.features(), files,
                (System.nanoTime() - start) / 1e9, replaced);
    }

    private static List<String> existingKeyFiles(Path dir) {
        if (Files.exists(dir) && !Files.isDirectory(dir)) {
            throw UserException.usage(dir + " exists and is not a directory");
        }
        List<String> out = new ArrayList<>();
        for (String f : KEY_FILES) {
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
                             String created, List<PartInfo> parts, List<String> missing) {}

    /** Describes a key directory or one key file. Never decrypts and never shows secret bytes. */
    public InfoResult info(Path path) {
        if (!Files.exists(path)) {
            throw new UserException(path + ": no such file or directory");
        }
        if (Files.isDirectory(path)) {
            List<PartInfo> parts = new ArrayList<>();
            List<String> missing = new ArrayList<>();
            KeySetManifest manifest = null;
            for (String f : KEY_FILES) {
                Path p = path.resolve(f);
                if (!Files.exists(p)) {
                    missing.add(f);
                    continue;
                }
                PartInfo part = describe(p);
                parts.add(part);
                if (f.equals(KeySetManifest.FILE_NAME)) {
                    manifest = KeySetManifest.parse(AtomicFiles.read(p, "key manifest"), p.toString());
                }
            }
            if (parts.isEmpty()) {
                throw new UserException(path + " holds no MedVault key files (" + String.join(", ", KEY_FILES) + ")");
            }
            String keyId = manifest != null ? manifest.keyId() : parts.get(0).keyId();
            return new InfoResult(path, keyId, manifest != null ? manifest.parameters() : FheConfig.PARAMETER_SET,
                    manifest != null ? manifest.features() : null, manifest != null ? manifest.created() : null, parts, missing);
        }
        PartInfo part = describe(path);
        return new InfoResult(path, part.keyId(), FheConfig.PARAMETER_SET, null, null, List.of(part), List.of());
    }

    private PartInfo describe(Path p) {
        byte[] data = AtomicFiles.read(p, "key file");
        String name = p.toString();
        String magic = new String(Arrays.copyOf(data, Math.min(data.length, SecretKeyFile.MAGIC.length())),
                java.nio.charset.StandardCharsets.US_ASCII);
        if (magic.equals(SecretKeyFile.MAGIC)) {
            SecretKeyFile.Header h = SecretKeyFile.readHeader(data, name);
            return new PartInfo(p.getFileName().toString(), h.kind() + " (secret, passphrase-protected)", data.length,
                    h.keyId(), "argon2id " + h.kdf().memoryKiB() / 1024 + " MiB, " + h.kdf().iterations() + " passes, "
                            + h.kdf().parallelism() + " lanes; AES-256-GCM");
        }
        if (p.getFileName().toString().endsWith(".json") || (data.length > 0 && data[0] == '{')) {
            KeySetManifest m = KeySetManifest.parse(data, name);
            return new PartInfo(p.getFileName().toString(), "manifest", data.length, m.keyId(), "created " + m.created());
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
        for (String f : List.of(KeySetManifest.CLIENT_KEY, KeySetManifest.SERVER_KEY, KeySetManifest.PUBLIC_KEY)) {
            Path p = dir.resolve(f);
            KeySetManifest.FileDigest expected = m.files().get(f);
            if (!Files.exists(p)) {
                checks.add(new Check(f + " digest", false, "missing"));
                continue;
            }
            byte[] data = AtomicFiles.read(p, "key file");
            contents.put(f, data);
            if (expected == null) {
                checks.add(new Check(f + " digest", false, "not listed in key.json"));
            } else {
                String actual = KeySetManifest.sha256(data);
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
                m.createdBy(), files);
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
            byte[] resealed = SecretKeyFile.seal(h.kind(), h.keyId(), secret, newPassphrase);
            AtomicFiles.write(file, resealed, true);
            updateManifestDigest(file, h.keyId(), resealed);
            return new ChangePassphraseResult(file, h.keyId());
        } finally {
            Arrays.fill(secret, (byte) 0);
        }
    }
}
