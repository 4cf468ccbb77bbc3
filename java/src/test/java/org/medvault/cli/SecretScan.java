package org.medvault.cli;

import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.stream.Stream;

/**
 * Looks for secrets where they must never be: in everything the CLI printed (stdout and stderr of
 * every command of this JVM) and in every file a walk-through left behind. A secret is a
 * passphrase (its UTF-8 bytes) or raw key material (several 24-byte windows of it, raw in files,
 * and as hex or base64 in printed text).
 */
final class SecretScan {
    private static final int W = 510;

    private SecretScan() {}

    /** A window with at least 32 non-zero bytes and 32 zero-or-other bytes: not padding, not a constant run. */
    private static boolean varied(byte[] w) {
        int nonZero = 0;
        for (byte b : w) {
            nonZero += b != 0 ? 1 : 0;
        }
        return nonZero >= 32 && w.length - nonZero >= 0;
    }

    /** Needles: what a leak of each secret would look like. */
    private record Needle(String what, String latin1) {}

    /**
     * Fails naming every leak found. Files that hold nothing but one of the passphrases (passphrase
     * files the test or {@code --generate-passphrase} wrote on purpose) are not leaks.
     */
    static void assertNothingLeaks(Path root, List<String> passphrases, List<byte[]> secrets) throws IOException {
        List<Needle> inFiles = new ArrayList<>();
        List<Needle> inText = new ArrayList<>();
        for (String p : passphrases) {
            if (p.length() < 12) {
                throw new IllegalArgumentException("passphrase too short to scan for without false alarms");
            }
            String s = new String(p.getBytes(StandardCharsets.UTF_8), StandardCharsets.ISO_8859_1);
            inFiles.add(new Needle("a passphrase", s));
            inText.add(new Needle("a passphrase", p));
        }
        // Key material is long runs of small numbers (a binary LWE key is one u64 0 or 1 per
        // coefficient), framed by public structure (version headers, parameters, the key id tag).
        // A window of 510 bytes holds ≥ 63 key bits: no public file can contain it by chance.
        for (byte[] secret : secrets) {
            int found = 0;
            for (int k = 1; k <= 15; k++) {
                int at = (int) ((long) (secret.length - W) * k / 16) / 3 * 3;
                byte[] w = java.util.Arrays.copyOfRange(secret, at, at + W);
                if (!varied(w)) {
                    continue;
                }
                found++;
                inFiles.add(new Needle("key bytes at " + at, new String(w, StandardCharsets.ISO_8859_1)));
                inText.add(new Needle("key bytes at " + at + " (hex)", HexFormat.of().formatHex(w)));
                inText.add(new Needle("key bytes at " + at + " (base64)", Base64.getEncoder().encodeToString(w)));
                inText.add(new Needle("key bytes at " + at + " (base64url)", Base64.getUrlEncoder().encodeToString(w)));
            }
            if (found < 4) {
                throw new IllegalArgumentException("too few scannable windows in a secret of " + secret.length + " bytes");
            }
        }
        List<String> found = new ArrayList<>();
        synchronized (Cli.PRINTED) {
            for (String printed : Cli.PRINTED) {
                for (Needle n : inText) {
                    if (printed.contains(n.latin1())) {
                        found.add(n.what() + " printed by a command");
                    }
                }
            }
        }
        List<Path> files;
        try (Stream<Path> walk = Files.walk(root)) {
            files = walk.filter(Files::isRegularFile).toList();
        }
        for (Path f : files) {
            if (Files.size(f) > (512L << 20)) {
                continue;
            }
            String content = new String(Files.readAllBytes(f), StandardCharsets.ISO_8859_1);
            if (content.length() < 256 && passphrases.contains(new String(content.getBytes(StandardCharsets.ISO_8859_1),
                    StandardCharsets.UTF_8).strip())) {
                continue; // a passphrase file
            }
            for (Needle n : inFiles) {
                if (content.contains(n.latin1())) {
                    found.add(n.what() + " in " + root.relativize(f));
                }
            }
        }
        if (!found.isEmpty()) {
            fail("secrets where they must never be:\n  " + String.join("\n  ", found));
        }
        if (files.isEmpty()) {
            fail("nothing scanned under " + root);
        }
    }
}
