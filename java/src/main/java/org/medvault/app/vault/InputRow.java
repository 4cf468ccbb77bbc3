package org.medvault.app.vault;

import java.util.List;
import java.util.Map;

/**
 * One input record before encoding: its file, its place there ({@code row}: CSV/JSON Lines line,
 * Bundle entry or NDJSON line of a Patient; {@code where}: the same in words, e.g. "row 7" or
 * "entry 1 (Patient urn:uuid:…)"), its id (null if the input has none), its raw cells by field
 * name, and every problem found while reading it (empty when it is well formed).
 */
public record InputRow(String file, long row, String where, String id, Map<String, String> cells, List<InputError> errors) {
    public static InputRow malformed(String file, long row, String reason) {
        return new InputRow(file, row, "row " + row, null, Map.of(),
                List.of(new InputError(file, row, "row " + row, null, null, reason)));
    }
}
