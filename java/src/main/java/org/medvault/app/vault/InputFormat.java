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
        if (n.endsWith(".jsonl") || n.endsWith(".ndjson")) {
            return JSONL;
        }
        if (n.endsWith(".json")) {
            return FHIR;
        }
        throw UserException.usage(file + ": cannot tell the format from the name; give --format csv|jsonl|fhir");
    }
}
