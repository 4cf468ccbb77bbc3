package org.medvault.app.vault;

import java.util.Map;

/**
 * One input record before encoding: where it came from, its id (null if the input has none), and
 * its raw cells by field name. {@code error} is set when the row itself is malformed.
 */
public record InputRow(long row, String id, Map<String, String> cells, String error) {
    public static InputRow malformed(long row, String error) {
        return new InputRow(row, null, Map.of(), error);
    }
}
