package org.medvault.app.vault;

import java.io.BufferedReader;
import java.io.IOException;
import java.math.BigDecimal;
import java.nio.charset.CharacterCodingException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

import org.medvault.app.AtomicFiles;
import org.medvault.app.TextFiles;
import org.medvault.app.fhir.FhirInputs;
import org.medvault.app.fhir.FhirInputs.Origin;
import org.medvault.app.fhir.FhirMapper;
import org.medvault.common.UserException;
import org.medvault.schema.FieldSpec;
import org.medvault.schema.VaultSchema;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.MappingIterator;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.csv.CsvMapper;
import com.fasterxml.jackson.dataformat.csv.CsvParser;
import com.fasterxml.jackson.dataformat.csv.CsvSchema;

/** Reads an input file into {@link InputRow}s, naming the file and row in every error. */
public final class InputReader {
    private static final ObjectMapper JSON = new ObjectMapper();

    private InputReader() {}

    /** Streams every row of {@code file} to {@code sink}. Structural failures of the whole file throw. */
    public static void read(Path file, InputFormat format, VaultSchema schema, Consumer<InputRow> sink) {
        readAll(List.of(file), format, schema, sink);
    }

    /** What reading a set of inputs found besides the rows: the files read, and notes for the user. */
    public record Summary(List<Path> files, List<String> notes) {}

    /**
     * Streams every row of every input to {@code sink}. An input is a file, a directory (its files,
     * recursively, by name) or a glob ({@code exports/*.json}). Each file's format is {@code format},
     * or guessed from its name (and, for .ndjson, its first line). All FHIR files are read together,
     * so Bulk Data NDJSON (one file per resource type) joins by reference across files.
     */
    public static Summary readAll(List<Path> inputs, InputFormat format, VaultSchema schema, Consumer<InputRow> sink) {
        List<Path> files = expand(inputs);
        List<Path> fhir = new ArrayList<>();
        List<String> notes = new ArrayList<>();
        for (Path file : files) {
            InputFormat f = format != null ? format : InputFormat.guess(file);
            switch (f) {
                case CSV -> readCsv(file, schema, sink);
                case JSONL -> readJsonl(file, schema, sink);
                case FHIR -> fhir.add(file);
                default -> throw new IllegalStateException();
            }
        }
        if (!fhir.isEmpty()) {
            readFhir(fhir, schema, sink, notes);
        }
        return new Summary(files, notes);
    }

    /** Files of the inputs, in order: a directory's regular files sorted by path, a glob's matches sorted. */
    static List<Path> expand(List<Path> inputs) {
        java.util.LinkedHashSet<Path> out = new java.util.LinkedHashSet<>();
        for (Path in : inputs) {
            String s = in.toString();
            if (!Files.exists(in) && (s.contains("*") || s.contains("?") || s.contains("["))) {
                out.addAll(glob(in));
            } else if (Files.isDirectory(in)) {
                List<Path> found;
                try (java.util.stream.Stream<Path> walk = Files.walk(in)) {
                    found = walk.filter(Files::isRegularFile)
                            .filter(p -> !p.getFileName().toString().startsWith("."))
                            .filter(p -> !p.getFileName().toString().endsWith(".rejects.csv"))
                            .sorted().toList();
                } catch (IOException e) {
                    throw new UserException(in + ": cannot list the directory: " + AtomicFiles.describe(e), e);
                }
                if (found.isEmpty()) {
                    throw new UserException(in + ": the directory holds no files");
                }
                out.addAll(found);
            } else if (Files.isRegularFile(in)) {
                out.add(in);
            } else {
                throw new UserException(in + ": no such file or directory");
            }
        }
        return List.copyOf(out);
    }

    private static List<Path> glob(Path pattern) {
        Path dir = pattern.getParent() == null ? Path.of(".") : pattern.getParent();
        if (!Files.isDirectory(dir)) {
            throw new UserException(pattern + ": no such directory " + dir);
        }
        java.nio.file.PathMatcher m = dir.getFileSystem().getPathMatcher("glob:" + pattern.getFileName());
        List<Path> found;
        try (java.util.stream.Stream<Path> list = Files.list(dir)) {
            found = list.filter(p -> m.matches(p.getFileName()) && Files.isRegularFile(p)).sorted().toList();
        } catch (IOException e) {
            throw new UserException(dir + ": cannot list the directory: " + AtomicFiles.describe(e), e);
        }
        if (found.isEmpty()) {
            throw new UserException(pattern + ": no file matches");
        }
        return found;
    }

    private static void readFhir(List<Path> files, VaultSchema schema, Consumer<InputRow> sink, List<String> notes) {
        FhirMapper mapper = new FhirMapper(schema, "schema");
        FhirInputs in = FhirInputs.read(files);
        if (in.patients().isEmpty()) {
            throw new UserException((files.size() == 1 ? files.get(0).toString() : files.size() + " FHIR files")
                    + ": no Patient resource (" + in.resources() + " resources read); a record is made per Patient");
        }
        if (in.unresolved() > 0) {
            notes.add(in.unresolved() + " Observation/Condition resource(s) refer to no Patient of the input; not used");
        }
        if (!in.ignoredTypes().isEmpty()) {
            notes.add("resource types not used by the schema: " + in.ignoredTypes());
        }
        for (FhirInputs.Duplicate d : in.duplicatePatients()) {
            Origin o = d.again().origin();
            sink.accept(new InputRow(o.file().toString(), o.index(), o.describe() + " (" + d.again().name() + ")", null,
                    Map.of(), List.of(new InputError(o.file().toString(), o.index(), o.describe() + " (" + d.again().name() + ")",
                    null, null, "the same Patient again (first at " + d.first().origin().file() + " "
                    + d.first().origin().describe() + "); not read twice"))));
        }
        for (FhirMapper.MappedPatient p : mapper.map(in)) {
            String file = p.origin().file().toString();
            String where = p.origin().describe() + " (" + p.patient() + ")";
            List<InputError> errors = new ArrayList<>();
            for (FhirMapper.Problem pr : p.problems()) {
                errors.add(new InputError(file, p.origin().index(), where, p.id(), pr.field(), pr.reason()));
            }
            sink.accept(new InputRow(file, p.origin().index(), where, p.id(), p.cells(), List.copyOf(errors)));
        }
    }

    private static void readCsv(Path file, VaultSchema schema, Consumer<InputRow> sink) {
        CsvMapper mapper = new CsvMapper();
        mapper.enable(CsvParser.Feature.TRIM_SPACES);
        mapper.enable(CsvParser.Feature.FAIL_ON_MISSING_COLUMNS);
        mapper.enable(CsvParser.Feature.WRAP_AS_ARRAY);
        long line = 1;
        try (BufferedReader in = TextFiles.utf8(file);
             MappingIterator<List<String>> it = mapper.readerForListOf(String.class)
                     .with(CsvSchema.emptySchema()).readValues(in)) {
            if (!it.hasNextValue()) {
                throw new UserException(file + ": empty file (a CSV needs a header row)");
            }
            List<String> header = it.nextValue();
            Map<String, Integer> column = new LinkedHashMap<>();
            for (int i = 0; i < header.size(); i++) {
                String h = header.get(i).strip();
                if (column.put(h, i) != null) {
                    throw new UserException(file + ": line 1: column '" + h + "' appears twice in the header");
                }
            }
            List<String> missing = new ArrayList<>();
            for (FieldSpec f : schema.fields()) {
                if (!column.containsKey(f.name()) && f.required()) {
                    missing.add(f.name());
                }
            }
            if (!missing.isEmpty()) {
                throw new UserException(file + ": line 1: the header lacks required column(s) " + String.join(", ", missing));
            }
            Integer idCol = schema.idField() == null ? null : column.get(schema.idField());
            if (schema.idField() != null && idCol == null) {
                // Without ids a re-run would store every row again, under new random ids.
                throw new UserException(file + ": line 1: the header has no column '" + schema.idField()
                        + "' (the schema's record id)");
            }
            while (it.hasNextValue()) {
                List<String> cells = it.nextValue();
                long rowLine = rowStart(it);
                line = rowLine;
                if (cells.size() == 1 && cells.get(0).isEmpty()) {
                    continue; // blank line
                }
                if (cells.size() != header.size()) {
                    sink.accept(InputRow.malformed(file.toString(), rowLine, cells.size() + " columns where the header has " + header.size()));
                    continue;
                }
                Map<String, String> values = new LinkedHashMap<>();
                for (FieldSpec f : schema.fields()) {
                    Integer c = column.get(f.name());
                    values.put(f.name(), c == null ? null : cells.get(c));
                }
                String id = idCol == null ? null : cells.get(idCol).strip();
                sink.accept(new InputRow(file.toString(), rowLine, "row " + rowLine, id == null || id.isEmpty() ? null : id, values, List.of()));
            }
        } catch (JacksonException e) {
            long at = e.getLocation() == null ? line : e.getLocation().getLineNr();
            throw new UserException(file + ": line " + at + ": malformed CSV (" + e.getOriginalMessage() + ")");
        } catch (CharacterCodingException e) {
            throw new UserException(file + ": not valid UTF-8 text");
        } catch (TextFiles.NulInText e) {
            throw e.refusal(file);
        } catch (IOException e) {
            throw new UserException(file + ": cannot read: " + AtomicFiles.describe(e), e);
        } catch (RuntimeException e) {
            if (e.getCause() instanceof TextFiles.NulInText n) {
                throw n.refusal(file);
            }
            if (e.getCause() instanceof JacksonException je) {
                long at = je.getLocation() == null ? line : je.getLocation().getLineNr();
                throw new UserException(file + ": line " + at + ": malformed CSV (" + je.getOriginalMessage() + ")");
            }
            throw e;
        }
    }

    /** The line where the row just read began (Jackson reports the position after it). */
    private static long rowStart(MappingIterator<?> it) {
        com.fasterxml.jackson.core.JsonLocation loc = it.getParser().currentTokenLocation();
        return loc == null ? -1 : loc.getLineNr();
    }

    private static void readJsonl(Path file, VaultSchema schema, Consumer<InputRow> sink) {
        long lineNr = 0;
        try (BufferedReader in = TextFiles.utf8(file)) {
            String line;
            while ((line = in.readLine()) != null) {
                lineNr++;
                if (line.isBlank()) {
                    continue;
                }
                JsonNode node;
                try {
                    node = JSON.readTree(line);
                } catch (JacksonException e) {
                    sink.accept(InputRow.malformed(file.toString(), lineNr, "malformed JSON (" + e.getOriginalMessage() + ")"));
                    continue;
                }
                if (node == null || !node.isObject()) {
                    sink.accept(InputRow.malformed(file.toString(), lineNr, "each line must be a JSON object"));
                    continue;
                }
                Map<String, String> values = new LinkedHashMap<>();
                String bad = null;
                for (FieldSpec f : schema.fields()) {
                    JsonNode v = node.get(f.name());
                    if (v == null || v.isNull()) {
                        values.put(f.name(), null);
                    } else if (v.isValueNode()) {
                        values.put(f.name(), v.isBigDecimal() || v.isDouble() || v.isFloat()
                                ? new BigDecimal(v.asText()).toPlainString() : v.asText());
                    } else {
                        bad = "field '" + f.name() + "' must be a number, string or boolean, not " + v.getNodeType();
                        break;
                    }
                }
                if (bad != null) {
                    sink.accept(InputRow.malformed(file.toString(), lineNr, bad));
                    continue;
                }
                String id = null;
                if (schema.idField() != null && node.hasNonNull(schema.idField())) {
                    id = node.get(schema.idField()).asText().strip();
                }
                sink.accept(new InputRow(file.toString(), lineNr, "row " + lineNr, id == null || id.isEmpty() ? null : id, values, List.of()));
            }
        } catch (CharacterCodingException e) {
            throw new UserException(file + ": line " + (lineNr + 1) + ": not valid UTF-8 text");
        } catch (TextFiles.NulInText e) {
            throw e.refusal(file);
        } catch (IOException e) {
            throw new UserException(file + ": cannot read: " + AtomicFiles.describe(e), e);
        }
    }
}
