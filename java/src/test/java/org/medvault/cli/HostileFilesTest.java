package org.medvault.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.function.Function;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.medvault.fhe.ClientKey;
import org.medvault.fhe.CompactPublicKey;
import org.medvault.fhe.CompressedServerKey;
import org.medvault.fhe.FheConfig;

/**
 * Every file type MedVault reads, corrupted the ways a hostile or unlucky user would hand it over,
 * through the real CLI: each must give a clear error (exit 1 or 2, "medvault: …", no stack trace,
 * no panic text, no hang) and leave no output file behind. {@code scripts/test} runs a fast slice;
 * {@code scripts/test --hostile} (MEDVAULT_HOSTILE_TESTS=1) every variant.
 */
class HostileFilesTest {
    static final Path EXAMPLES = Path.of(System.getProperty("user.dir"), "examples");
    static final boolean FULL = System.getenv("MEDVAULT_HOSTILE_TESTS") != null;
    static final Map<String, String> ENV = SharedKeySet.ENV;

    @TempDir
    static Path tmp;
    static Path keys;
    static Path vault;
    static Path result;
    static Path record;
    static byte[] otherPublic;
    static byte[] otherServer;
    /** The intact files, by type. */
    static final Map<String, byte[]> ORIGINALS = new LinkedHashMap<>();

    @BeforeAll
    static void walkThrough() throws IOException {
        keys = SharedKeySet.dir();
        vault = tmp.resolve("vault.db");
        ok(Cli.run(Map.of(), "vault", "init", "--schema", EXAMPLES.resolve("schema.json").toString(), "--public-key",
                keys.resolve("public.key").toString(), "--vault", vault.toString(), "-q"));
        Path three = tmp.resolve("three.csv");
        Files.write(three, Files.readAllLines(EXAMPLES.resolve("patients.csv")).subList(0, 4));
        ok(Cli.run(Map.of(), "encrypt", "--vault", vault.toString(), "--in", three.toString(), "-q"));
        Path kit = tmp.resolve("kit");
        ok(Cli.run(Map.of(), "vault", "kit", "--vault", vault.toString(), "--out", kit.toString(), "-q"));
        record = tmp.resolve("me.mvrec");
        ok(Cli.run(Map.of(), "record", "encrypt", "--kit", kit.toString(), "--in", EXAMPLES.resolve("my-record.json").toString(),
                "--out", record.toString(), "-q"));
        result = tmp.resolve("count.mvr");
        ok(Cli.run(Map.of(), "query", "--vault", vault.toString(), "--server-key", keys.toString(), "SELECT count(*)", "--out",
                result.toString(), "-q"));
        if (FULL) { // "the same type under another key" is in the full sweep only
            try (ClientKey other = ClientKey.generate(FheConfig.defaults()); CompactPublicKey pk = other.compactPublicKey();
                 CompressedServerKey sk = other.compressedServerKey()) {
                otherPublic = pk.serialize();
                otherServer = sk.serialize();
            }
        }
        for (String f : List.of("client.key", "public.key", "server.key", "key.json")) {
            ORIGINALS.put(f, Files.readAllBytes(keys.resolve(f)));
        }
        ORIGINALS.put("vault", Files.readAllBytes(vault));
        ORIGINALS.put("record file", Files.readAllBytes(record));
        ORIGINALS.put("result", Files.readAllBytes(result));
        ORIGINALS.put("schema", Files.readAllBytes(EXAMPLES.resolve("schema.json")));
        ORIGINALS.put("csv", Files.readAllBytes(three));
        ORIGINALS.put("jsonl", Files.readAllBytes(EXAMPLES.resolve("my-record.json")));
        ORIGINALS.put("fhir bundle", Files.readAllBytes(EXAMPLES.resolve("fhir-hospital/bundles/patient-01.json")));
        ORIGINALS.put("fhir ndjson", Files.readAllBytes(EXAMPLES.resolve("fhir-hospital/bulk/Patient.ndjson")));
        Path admin = Cli.writer(tmp);
        ORIGINALS.put("identity", Files.readAllBytes(admin));
        ORIGINALS.put("public identity", Files.readAllBytes(org.medvault.app.keys.Identity.publicFileOf(admin)));
    }

    static void ok(Cli.Result r) {
        assertEquals(0, r.exit(), r.toString());
    }

    /** A corruption: a name and what it does to the intact bytes of a type (null: "make an oversized sparse file"). */
    record Variant(String name, boolean fast, Function<String, byte[]> make) {}

    /** Where a file's content ends: text formats end in a newline, which is not content. */
    static int contentEnd(byte[] b) {
        int end = b.length;
        while (end > 1 && (b[end - 1] == '\n' || b[end - 1] == '\r' || b[end - 1] == ' ')) {
            end--;
        }
        return end;
    }

    static byte[] flip(byte[] b, int at) {
        byte[] c = b.clone();
        c[Math.min(at, c.length - 1)] ^= 0x10;
        return c;
    }

    static List<Variant> variants() {
        List<String> types = new ArrayList<>(ORIGINALS.keySet());
        return List.of(
                new Variant("empty", true, t -> new byte[0]),
                new Variant("one byte", false, t -> Arrays.copyOf(ORIGINALS.get(t), 1)),
                new Variant("truncated to half", true, t -> Arrays.copyOf(ORIGINALS.get(t), ORIGINALS.get(t).length / 2)),
                new Variant("all but the last byte", false, t -> Arrays.copyOf(ORIGINALS.get(t), contentEnd(ORIGINALS.get(t)) - 1)),
                new Variant("random bytes", false, t -> {
                    byte[] b = new byte[ORIGINALS.get(t).length];
                    new Random(t.hashCode()).nextBytes(b);
                    return b;
                }),
                new Variant("a flipped bit in the header", false, t -> flip(ORIGINALS.get(t), 8)),
                new Variant("a flipped bit in the body", true, t -> flip(ORIGINALS.get(t), ORIGINALS.get(t).length * 3 / 4)),
                new Variant("1 MB of zeros appended", true, t -> {
                    byte[] o = ORIGINALS.get(t);
                    return Arrays.copyOf(o, o.length + (1 << 20));
                }),
                new Variant("another type in its place", true, t -> ORIGINALS.get(types.get((types.indexOf(t) + 1) % types.size()))),
                new Variant("the same type under another key", false, t -> t.equals("public.key") ? otherPublic
                        : t.equals("server.key") ? otherServer : null),
                new Variant("larger than any file of its kind (sparse)", false, t -> null));
    }

    /** Runs the command that reads a file of {@code type}, with {@code bad} in its place; returns the output file it must not leave. */
    static Cli.Result read(String type, Path bad, Path out) throws IOException {
        return switch (type) {
            case "client.key" -> Cli.run(ENV, "decrypt", "--key", bad.toString(), result.toString());
            case "public.key" -> Cli.run(Map.of(), "vault", "init", "--schema", EXAMPLES.resolve("schema.json").toString(),
                    "--public-key", bad.toString(), "--vault", out.toString());
            case "server.key" -> Cli.run(Map.of(), "query", "--vault", vault.toString(), "--server-key", bad.toString(),
                    "SELECT count(*)", "--out", out.toString());
            case "key.json" -> {
                Path dir = Files.createDirectories(bad.resolveSibling(bad.getFileName() + ".keys"));
                for (String f : List.of("client.key", "public.key", "server.key", "submission.key", "submission.crs")) {
                    Path to = dir.resolve(f);
                    if (!Files.exists(to)) {
                        Files.createSymbolicLink(to, keys.resolve(f));
                    }
                }
                Files.copy(bad, dir.resolve("key.json"), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
                yield Cli.run(ENV, "keys", "verify", dir.toString());
            }
            case "vault" -> Cli.run(Map.of(), "query", "--vault", bad.toString(), "--server-key", keys.toString(), "SELECT count(*)",
                    "--out", out.toString());
            case "record file" -> Cli.run(Map.of(), "vault", "import", "--vault", copyOfVault(bad).toString(), "--server-key",
                    keys.toString(), bad.toString());
            case "result" -> Cli.run(ENV, "decrypt", "--key", keys.toString(), bad.toString());
            case "schema" -> Cli.run(Map.of(), "vault", "init", "--schema", bad.toString(), "--public-key",
                    keys.resolve("public.key").toString(), "--vault", out.toString());
            case "csv" -> Cli.run(Map.of(), "encrypt", "--vault", copyOfVault(bad).toString(), "--in", bad.toString(), "--format", "csv");
            case "jsonl" -> Cli.run(Map.of(), "record", "encrypt", "--kit", tmp.resolve("kit").toString(), "--in", bad.toString(),
                    "--out", out.toString());
            case "fhir bundle", "fhir ndjson" -> Cli.run(Map.of(), "encrypt", "--vault", copyOfVault(bad).toString(), "--in",
                    bad.toString(), "--format", "fhir");
            case "identity" -> Cli.run(Cli.ADMIN_ENV, "vault", "withdraw", "--vault", copyOfVault(bad).toString(), "--record", "p00001",
                    "--identity", bad.toString());
            case "public identity" -> Cli.run(Map.of(), "identity", "show", bad.toString());
            default -> throw new IllegalArgumentException(type);
        };
    }

    static Path copyOfVault(Path bad) throws IOException {
        Path v = bad.resolveSibling(bad.getFileName() + ".vault.db");
        Files.copy(vault, v, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        return v;
    }

    @Test
    void everyFileTypeCorruptedEveryWayGivesAClearError() throws Exception {
        List<String> failures = new ArrayList<>();
        int tried = 0;
        int i = 0;
        for (String type : ORIGINALS.keySet()) {
            for (Variant v : variants()) {
                if (!FULL && !v.fast()) {
                    continue;
                }
                byte[] bytes = v.make().apply(type);
                String name = "bad-" + (i++) + "-" + type.replace(' ', '_').replace(".", "_")
                        + (type.equals("fhir ndjson") ? ".ndjson" : type.equals("fhir bundle") ? ".json" : "");
                Path bad = tmp.resolve(name);
                if (v.name().startsWith("larger")) {
                    if (List.of("csv", "jsonl", "fhir bundle", "fhir ndjson", "vault").contains(type)) {
                        continue; // streamed inputs and SQLite files have no whole-file limit
                    }
                    try (java.io.RandomAccessFile f = new java.io.RandomAccessFile(bad.toFile(), "rw")) {
                        f.setLength(3L << 30);
                    }
                } else if (bytes == null) {
                    continue; // no such variant for this type
                } else {
                    Files.write(bad, bytes);
                }
                Path out = tmp.resolve(name + ".out");
                Cli.Result r = read(type, bad, out);
                tried++;
                String what = type + ", " + v.name() + ": ";
                String all = r.out() + r.err();
                if (r.exit() != 1 && r.exit() != 2) {
                    failures.add(what + "exit " + r.exit() + "\n" + r);
                } else if (!lastLine(r.err()).startsWith("medvault: ")) {
                    failures.add(what + "no 'medvault: ' error line last\n" + r);
                } else if (all.contains("Exception") || all.contains("\tat ") || all.contains("panicked")
                        || all.contains("RUST_BACKTRACE") || all.contains("java.lang.")) {
                    failures.add(what + "a stack trace or panic text\n" + r);
                } else if (Files.exists(out)) {
                    failures.add(what + "left " + out.getFileName() + " behind");
                }
                Files.deleteIfExists(bad);
            }
        }
        if (!failures.isEmpty()) {
            fail(failures.size() + " of " + tried + " hostile inputs were not refused cleanly:\n" + String.join("\n\n", failures));
        }
        assertTrue(tried >= (FULL ? 100 : 50), "tried " + tried);
        System.out.println("HostileFilesTest: " + tried + " corrupted inputs over " + ORIGINALS.size() + " file types, each refused"
                + " cleanly" + (FULL ? " (full sweep)" : " (fast slice; scripts/test --hostile runs all)"));
    }

    /** The error comes last: progress notes ("loading the server key …") may precede it. */
    static String lastLine(String err) {
        List<String> lines = err.strip().lines().toList();
        return lines.isEmpty() ? "" : firstErrorLine(lines);
    }

    /** The first line of the final message: an error may list problems on the lines below it. */
    static String firstErrorLine(List<String> lines) {
        for (int i = lines.size() - 1; i >= 0; i--) {
            if (lines.get(i).startsWith("medvault: ")) {
                return lines.subList(i + 1, lines.size()).stream().allMatch(l -> l.startsWith("  ")) ? lines.get(i) : "";
            }
        }
        return "";
    }
}
