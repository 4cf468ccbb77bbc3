package org.medvault.app.vault;

/** One bad input value: where it is (file, row, field) and why it was refused. */
public record InputError(String file, long row, String field, String reason) {
    public String message() {
        return file + ": row " + row + (field == null ? "" : ", field '" + field + "'") + ": " + reason;
    }
}
