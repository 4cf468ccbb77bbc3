package org.medvault.app.keys;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;

import org.medvault.common.Digests;
import org.medvault.common.UserException;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;

/**
 * {@code key.json}: the public description of a key set — key id, parameters, features, creation
 * time, and the size and SHA-256 of each key file, so the files can be checked to belong together.
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record KeySetManifest(
        String format,
        String keyId,
        String parameters,
        Features features,
        String created,
        String createdBy,
        Map<String, FileDigest> files,
        Threshold threshold) {

    public static final String FORMAT = "medvault-keyset/1";
    public static final String FILE_NAME = "key.json";
    public static final String CLIENT_KEY = "client.key";
    public static final String SERVER_KEY = "server.key";
    public static final String PUBLIC_KEY = "public.key";
    /** The public key for proven submissions (dedicated zero-knowledge parameters). */
    public static final String SUBMISSION_KEY = "submission.key";
    /** The CRS that submission proofs are made and checked with; made with the keys. */
    public static final String SUBMISSION_CRS = "submission.crs";

    static final ObjectMapper JSON = new ObjectMapper()
            .enable(SerializationFeature.INDENT_OUTPUT)
            .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS); // bytes after the JSON: a corrupt file

    public record Features(boolean compression, boolean noiseSquashing) {}

    /**
     * A threshold key set's roster: no client key exists; custodian {@code index} holds
     * {@code share} and signs its partial decryptions with the Ed25519 key {@code signingKey}
     * (X.509, base64). At the ceremony every custodian's key signs the roster statement
     * ({@code rosterSignature}), and the roster's digest is sealed into every share; a vault pins
     * the roster when it is created. Releases are verified against a pinned roster, never against
     * keys a result file names.
     *
     * <p>{@code minCohortFloor} is the smallest cohort any release may show, pinned at the ceremony
     * and part of the signed statement: no custodian signs a partial over a vault whose k is lower.
     * Rosters made before it existed (statement v1) have none and get {@link #DEFAULT_FLOOR}.
     *
     * <p>{@code writers} are the Ed25519 public keys (X.509, base64) of the identities that may
     * store ciphertexts in a vault of this key (the admins): every chunk carries a writer's
     * signature, and custodians release only from vaults whose every chunk does. A v1 roster
     * names none, so no custodian releases under it.
     */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record Threshold(int custodians, int threshold, java.util.List<Custodian> members, Integer minCohortFloor,
                            java.util.List<String> writers) {
        /** The floor of rosters that pinned none (v1), and the ceremony's default: MedVault's default k. */
        public static final int DEFAULT_FLOOR = 11;
        /** Hex digits of the roster digest in a {@link #fingerprint}: 96 bits, read aloud in six groups. */
        static final int FINGERPRINT_HEX = 24;

        public Custodian member(int index) {
            return members.stream().filter(m -> m.index() == index).findFirst()
                    .orElseThrow(() -> new UserException("the roster lists no custodian " + index));
        }

        /** The pinned floor for k ({@link #DEFAULT_FLOOR} for a v1 roster, which pinned none). */
        public int floor() {
            return minCohortFloor == null ? DEFAULT_FLOOR : minCohortFloor;
        }

        /** The vault writers' keys (empty for a v1 roster). */
        public java.util.List<String> writerKeys() {
            return writers == null ? java.util.List.of() : writers;
        }

        /**
         * The signed statement: key id, n, t, the cohort floor, the vault writers' keys and every
         * custodian's index and signing key (v1, without floor and writers, for rosters made
         * before they were pinned).
         */
        public static byte[] statement(String keyId, int custodians, int threshold, Integer floor, java.util.List<String> writers,
                                       java.util.List<Custodian> members) {
            boolean v1 = floor == null && writers == null;
            StringBuilder sb = new StringBuilder(v1 ? "medvault-roster/1\n" : "medvault-roster/2\n").append(keyId).append('\n')
                    .append(custodians).append(" of which ").append(threshold).append('\n');
            if (!v1) {
                sb.append("cohorts of at least ").append(floor == null ? DEFAULT_FLOOR : floor).append('\n');
                (writers == null ? java.util.List.<String>of() : writers).stream().sorted()
                        .forEach(w -> sb.append("writer ").append(w).append('\n'));
            }
            members.stream().sorted(java.util.Comparator.comparingInt(Custodian::index))
                    .forEach(m -> sb.append(m.index()).append(' ').append(m.signingKey()).append('\n'));
            return sb.toString().getBytes(StandardCharsets.UTF_8);
        }

        /** SHA-256 (hex) of the roster statement: what shares, vaults, results and partials name. */
        public String digest(String keyId) {
            return Digests.sha256(statement(keyId, custodians, threshold, minCohortFloor, writers, members));
        }

        /**
         * The roster's fingerprint, published at the ceremony and compared by whoever trusts a
         * release: the first 96 bits of {@link #digest} (which commits to the key id, n, t, the
         * floor and every custodian's key), in six groups of four hex digits.
         */
        public String fingerprint(String keyId) {
            return fingerprintOf(digest(keyId));
        }

        public static String fingerprintOf(String rosterDigest) {
            StringBuilder sb = new StringBuilder();
            for (int i = 0; i < FINGERPRINT_HEX; i += 4) {
                sb.append(i == 0 ? "" : "-").append(rosterDigest, i, i + 4);
            }
            return sb.toString();
        }

        /**
         * True when {@code given} (a fingerprint as printed, any case, with or without dashes or
         * spaces, or the full digest) names this roster; fewer than 24 hex digits never match.
         */
        public boolean matches(String keyId, String given) {
            String hex = given == null ? "" : given.replaceAll("[\\s:-]", "").toLowerCase(java.util.Locale.ROOT);
            return hex.length() >= FINGERPRINT_HEX && hex.matches("[0-9a-f]+") && digest(keyId).startsWith(hex);
        }

        /** The roster with every member's signature of the statement ({@code signer.apply(index)}). */
        public static Threshold signed(String keyId, int custodians, int threshold, int floor, java.util.List<String> writers,
                                       java.util.List<Custodian> members, java.util.function.IntFunction<byte[]> signer) {
            java.util.List<Custodian> signed = members.stream()
                    .map(m -> new Custodian(m.index(), m.share(), m.signingKey(),
                            java.util.Base64.getEncoder().encodeToString(signer.apply(m.index()))))
                    .toList();
            return new Threshold(custodians, threshold, signed, floor, java.util.List.copyOf(writers));
        }

        /**
         * Checks the roster is well formed (custodians 1..n, each once) and that every custodian's
         * key signed it; {@code name} says where it came from in the error.
         */
        public void verify(String keyId, String name) {
            java.util.Set<Integer> seen = new java.util.TreeSet<>();
            for (Custodian m : members) {
                if (m.index() < 1 || m.index() > custodians || !seen.add(m.index())) {
                    throw new UserException(name + ": malformed custodian roster (custodian " + m.index() + ")");
                }
            }
            byte[] statement = statement(keyId, custodians, threshold, minCohortFloor, writers, members);
            for (Custodian m : members) {
                byte[] sig;
                try {
                    sig = m.rosterSignature() == null ? null : java.util.Base64.getDecoder().decode(m.rosterSignature());
                } catch (IllegalArgumentException e) {
                    sig = null;
                }
                if (sig == null || !CustodianShare.verify(m.signingKey(), statement, sig)) {
                    throw new UserException(name + ": custodian " + m.index() + "'s key did not sign this roster;"
                            + " it was altered or made outside a MedVault ceremony");
                }
            }
        }
    }

    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record Custodian(int index, String share, String signingKey, String rosterSignature) {}

    /** The share file of custodian {@code index} (1-based). */
    public static String shareFile(int index) {
        return "custodian-" + index + ".share";
    }

    /** The roster's fingerprint (see {@link Threshold#fingerprint}); null for a personal key set. */
    public String rosterFingerprint() {
        return threshold == null ? null : threshold.fingerprint(keyId);
    }

    /** Not an "is" accessor: Jackson 2.20 (Spark's) would drop the "threshold" property for it. */
    public boolean hasThreshold() {
        return threshold != null;
    }

    public record FileDigest(long bytes, String sha256) {
        public static FileDigest of(byte[] data) {
            return new FileDigest(data.length, Digests.sha256(data));
        }
    }

    public KeySetManifest {
        files = files == null ? Map.of() : new LinkedHashMap<>(files);
    }

    public byte[] toBytes() {
        try {
            return (JSON.writeValueAsString(this) + "\n").getBytes(StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    public static KeySetManifest parse(byte[] bytes, String name) {
        KeySetManifest m;
        try {
            m = JSON.readValue(bytes, KeySetManifest.class);
        } catch (IOException e) {
            throw new UserException(name + " is not a valid key manifest: " + firstLine(e.getMessage()));
        }
        if (!FORMAT.equals(m.format())) {
            throw new UserException(name + ": unsupported format " + m.format() + " (expected " + FORMAT + ")");
        }
        if (m.keyId() == null || !m.keyId().matches("[0-9a-f]{64}")) {
            throw new UserException(name + ": missing or malformed keyId");
        }
        Threshold t = m.threshold();
        if (t != null && !wellFormed(t)) {
            throw new UserException(name + ": malformed threshold section");
        }
        return m;
    }

    /** A roster as JSON (what a vault pins). */
    public static String rosterJson(Threshold roster) {
        try {
            return JSON.writeValueAsString(roster);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    /** A roster from {@link #rosterJson}; {@code name} says where it came from in the error. */
    public static Threshold parseRoster(String json, String name) {
        Threshold t;
        try {
            t = JSON.readValue(json, Threshold.class);
        } catch (IOException e) {
            throw new UserException(name + " is not a valid custodian roster: " + firstLine(e.getMessage()));
        }
        if (!wellFormed(t)) {
            throw new UserException(name + ": malformed custodian roster");
        }
        return t;
    }

    private static boolean wellFormed(Threshold t) {
        return t.members() != null && t.members().size() == t.custodians() && t.threshold() >= 2 && t.threshold() <= t.custodians()
                && (t.minCohortFloor() == null || (t.minCohortFloor() >= 1 && t.minCohortFloor() <= MAX_FLOOR))
                && (t.writers() == null || (t.writers().size() <= MAX_WRITERS && t.writers().stream().allMatch(
                        w -> w != null && w.matches("[A-Za-z0-9+/=]{1,200}"))));
    }

    /** The largest cohort floor a ceremony may pin (the schema's own limit for k). */
    public static final int MAX_FLOOR = 1_000_000;
    /** The most vault writers a roster may name. */
    public static final int MAX_WRITERS = 32;

    private static String firstLine(String s) {
        if (s == null) {
            return "unreadable";
        }
        int nl = s.indexOf('\n');
        return nl < 0 ? s : s.substring(0, nl);
    }
}
