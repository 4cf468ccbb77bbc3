package org.medvault.query;

/** A query that cannot run: a syntax error or a mismatch with the schema, with its position. */
public final class QueryException extends RuntimeException {
    private static final long serialVersionUID = 1L;
    private final int position;

    public QueryException(String message, int position) {
        super(message);
        this.position = position;
    }

    /** 0-based character offset in the query text, or -1. */
    public int position() {
        return position;
    }

    /** The message with the query and a caret under the position. */
    public String describe(String query) {
        if (position < 0 || query == null) {
            return getMessage();
        }
        return getMessage() + " (at character " + (position + 1) + ")\n  " + query + "\n  " + " ".repeat(Math.min(position, query.length())) + "^";
    }
}
