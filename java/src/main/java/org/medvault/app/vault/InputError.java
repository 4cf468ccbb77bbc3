package org.medvault.app.vault;

/**
 * One bad input value or record: where it is (file, row or entry, record id, field) and why it
 * was refused. {@code field} is null when the problem is the whole record's.
 */
public record InputError(String file, long row, String where, String recordId, String field, String reason) {
    public String message() {
        return file + ": " + where + (field == null ? "" : ", field '" + field + "'") + ": " + reason;
    }
}
