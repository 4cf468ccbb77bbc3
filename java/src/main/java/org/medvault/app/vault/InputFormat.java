package org.medvault.app.vault;

import java.nio.file.Path;
import java.util.Locale;

import org.medvault.common.UserException;

/** The import formats, and how to pick one from a file name. */
public enum InputFormat {
    CSV, JSONL, FHIR;

    public static InputFormat parse(String s) {
        try {
            return valueOf(s.toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw UserException.usage("unknown format '" + s + "' (csv, jsonl, fhir)");
        }
    }

    public static InputFormat guess(Path file) {
        String n = file.getFileName().toString().toLowerCase(Locale.ROOT);
        if (n.endsWith(".csv")) {
            return CSV;
        }
        if (n.endsWith(".jsonl")) {
            return JSONL;
        }
        if (n.endsWith(".ndjson")) { // FHIR Bulk Data when its lines are resources
            return firstLineIsFhir(file) ? FHIR : JSONL;
        }
        if (n.endsWith(".json")) {
            return FHIR;
        }
        throw UserException.usage(file + ": cannot tell the format from the name; give --format csv|jsonl|fhir");
    }

    private static boolean firstLineIsFhir(Path file) {
        try (java.io.BufferedReader r = java.nio.file.Files.newBufferedReader(file, java.nio.charset.StandardCharsets.UTF_8)) {
            String line;
            while ((line = r.readLine()) != null) {
                if (!line.isBlank()) {
                    return line.contains("\"resourceType\"");
                }
            }
            return false;
        } catch (java.io.IOException | java.io.UncheckedIOException e) {
            return false; // the reader that follows reports what is wrong with the file
        }
    }
}
