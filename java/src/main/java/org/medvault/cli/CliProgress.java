package org.medvault.cli;

import java.io.PrintWriter;

import org.medvault.app.Progress;

import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;

/**
 * Progress on stderr: a progress bar when stderr is a terminal, nothing of it otherwise (scripts,
 * CI, tests); one-line notes unless {@code --quiet}.
 */
final class CliProgress implements Progress {
    private final PrintWriter err;
    private final boolean quiet;
    private final boolean terminal;
    private ProgressBar bar;

    CliProgress(PrintWriter err, boolean quiet, boolean terminal) {
        this.err = err;
        this.quiet = quiet;
        this.terminal = terminal;
    }

    @Override
    public void begin(String task, long total) {
        if (quiet) {
            return;
        }
        if (terminal) {
            bar = new ProgressBarBuilder().setTaskName(task).setInitialMax(total).setUnit(" records", 1)
                    .setStyle(ProgressBarStyle.ASCII).showSpeed().continuousUpdate().clearDisplayOnFinish().build();
        } else {
            note(task + " " + total + " records");
        }
    }

    @Override
    public void advance(long done) {
        if (bar != null) {
            bar.stepTo(done);
        }
    }

    @Override
    public void end() {
        if (bar != null) {
            bar.close();
            bar = null;
        }
    }

    @Override
    public void note(String message) {
        if (!quiet) {
            err.println(message);
            err.flush();
        }
    }
}
