package org.medvault;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;

/**
 * The house rules, checked on the sources: every import points down the layers of docs/architecture.md, no
 * package name is used twice, and no benchmark harness lives in the product's sources.
 */
class ArchitectureTest {
    static final Path MAIN = Path.of(System.getProperty("user.dir"), "java", "src", "main", "java");

    /**
     * Bottom to top. A class may import from its own package and from packages below it, never
     * from one above or beside it at the same rank.
     */
    static final List<String> LAYERS = List.of(
            "org.medvault.common",       // errors and digests every layer uses
            "org.medvault.fhe",          // the binding
            "org.medvault.schema",       // fields, ranges, record layout: the domain model
            "org.medvault.query",        // the query language: parser, planner, clear reference
            "org.medvault.app",          // shared use-case helpers: files, progress
            "org.medvault.app.keys",     // key sets, sealed secrets, rosters
            "org.medvault.app.fhir",     // FHIR R4 exports read and mapped to schema values
            "org.medvault.app.vault",    // vault store, import, codecs
            "org.medvault.app.release",  // queries into result files, partials, combine
            "org.medvault.examples",     // example programs over the API
            "org.medvault.cli");         // picocli commands

    static final Pattern PACKAGE = Pattern.compile("^package ([\\w.]+);", Pattern.MULTILINE);
    static final Pattern IMPORT = Pattern.compile("^import (?:static )?(org\\.medvault\\.[\\w.]+?)\\.[A-Z]", Pattern.MULTILINE);
    static final Pattern QUALIFIED = Pattern.compile("\\b(org\\.medvault\\.[a-z.]+?)\\.[A-Z]");

    record Source(Path file, String pkg, String text) {}

    static List<Source> sources() throws IOException {
        List<Source> out = new ArrayList<>();
        try (Stream<Path> files = Files.walk(MAIN)) {
            for (Path f : files.filter(p -> p.toString().endsWith(".java")).toList()) {
                String text = Files.readString(f);
                Matcher m = PACKAGE.matcher(text);
                assertTrue(m.find(), f + " declares no package");
                out.add(new Source(f, m.group(1), text));
            }
        }
        return out;
    }

    @Test
    void everyImportPointsDown() throws IOException {
        List<String> violations = new ArrayList<>();
        for (Source s : sources()) {
            int rank = LAYERS.indexOf(s.pkg());
            assertTrue(rank >= 0, s.file() + ": package " + s.pkg() + " is in no layer; add it to ArchitectureTest.LAYERS");
            TreeSet<String> used = new TreeSet<>();
            for (Pattern p : List.of(IMPORT, QUALIFIED)) {
                Matcher m = p.matcher(s.text());
                while (m.find()) {
                    used.add(m.group(1));
                }
            }
            for (String target : used) {
                if (target.equals(s.pkg())) {
                    continue;
                }
                int to = LAYERS.indexOf(target);
                if (to < 0 || to >= rank) {
                    violations.add(MAIN.relativize(s.file()) + " (" + s.pkg() + ") uses " + target);
                }
            }
        }
        assertEquals(List.of(), violations, "imports that point up or sideways");
    }

    @Test
    void noPackageNameIsUsedTwice() throws IOException {
        Map<String, TreeSet<String>> byName = new TreeMap<>();
        for (Source s : sources()) {
            String last = s.pkg().substring(s.pkg().lastIndexOf('.') + 1);
            byName.computeIfAbsent(last, k -> new TreeSet<>()).add(s.pkg());
        }
        byName.values().removeIf(v -> v.size() < 2);
        assertEquals(Map.of(), byName, "package names used twice");
    }

    @Test
    void noBenchmarkHarnessInTheProduct() throws IOException {
        List<String> bench = sources().stream()
                .filter(s -> s.file().getFileName().toString().matches("(?i).*bench.*\\.java"))
                .map(s -> MAIN.relativize(s.file()).toString()).toList();
        assertEquals(List.of(), bench, "benchmark code belongs in java/src/bench, outside target/medvault.jar");
    }
}
