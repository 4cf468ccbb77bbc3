package org.medvault.app;

/** Progress of a long task, reported by use cases and shown (or not) by the CLI. */
public interface Progress {
    Progress NONE = new Progress() {
        @Override
        public void begin(String task, long total) {}

        @Override
        public void advance(long done) {}

        @Override
        public void end() {}

        @Override
        public void note(String message) {}
    };

    void begin(String task, long total);

    void advance(long done);

    void end();

    /** A one-line diagnostic (stderr in the CLI). */
    void note(String message);
}
