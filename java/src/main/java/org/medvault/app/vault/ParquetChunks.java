package org.medvault.app.vault;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;

/**
 * Writes vault chunks as an Apache Parquet file (format 2.x, uncompressed, PLAIN, every column
 * required): one row per chunk, what a Spark job reads as its Dataset. Written by hand (the
 * footer is Thrift's compact protocol) so the CLI needs no Hadoop or Parquet library.
 *
 * <p>Columns: {@code seq} (INT64, the chunk's position in the vault's canonical order),
 * {@code sha256} (string, the chunk's digest), {@code record_ids} (string, the live records' ids,
 * one per line), {@code slots} (string, their slots in the chunk, comma-separated) and
 * {@code list} (binary, the serialized compact ciphertext list).
 */
public final class ParquetChunks {
    /** The columns, in file order. */
    public static final List<String> COLUMNS = List.of("seq", "sha256", "record_ids", "slots", "list");

    private static final byte[] MAGIC = "PAR1".getBytes(StandardCharsets.US_ASCII);
    private static final int TYPE_INT64 = 2;
    private static final int TYPE_BYTE_ARRAY = 6;
    private static final int REQUIRED = 0;
    private static final int CONVERTED_UTF8 = 0;
    private static final int PLAIN = 0;
    private static final int RLE = 3;
    private static final int DATA_PAGE = 0;
    /** A page closes once it holds this many bytes (one chunk's list may exceed it alone). */
    private static final int PAGE_BYTES = 1 << 20;

    /** One row. */
    public record Row(long seq, String sha256, List<String> recordIds, List<Integer> slots, byte[] list) {}

    private ParquetChunks() {}

    /** Writes {@code rows} as one Parquet file (one row group) to {@code out}. */
    public static void write(List<Row> rows, OutputStream out, String createdBy) throws IOException {
        CountingOut file = new CountingOut(out);
        file.write(MAGIC);
        List<byte[]> columnChunks = new ArrayList<>();
        long total = 0;
        for (int c = 0; c < COLUMNS.size(); c++) {
            long start = file.count;
            List<byte[]> values = new ArrayList<>(rows.size());
            for (Row r : rows) {
                values.add(value(c, r));
            }
            int i = 0;
            while (i < values.size() || (i == 0 && values.isEmpty())) {
                ByteArrayOutputStream page = new ByteArrayOutputStream();
                int n = 0;
                while (i < values.size() && (n == 0 || page.size() + values.get(i).length <= PAGE_BYTES)) {
                    page.write(values.get(i++));
                    n++;
                }
                Thrift h = new Thrift();
                h.i32(1, DATA_PAGE);
                h.i32(2, page.size());
                h.i32(3, page.size());
                h.beginStruct(5);
                h.i32(1, n);
                h.i32(2, PLAIN);
                h.i32(3, RLE);
                h.i32(4, RLE);
                h.endStruct();
                h.stop();
                file.write(h.bytes());
                page.writeTo(file);
                if (values.isEmpty()) {
                    break;
                }
            }
            long size = file.count - start;
            total += size;
            Thrift meta = new Thrift();
            meta.i32(1, c == 0 ? TYPE_INT64 : TYPE_BYTE_ARRAY);
            meta.listHeader(2, Thrift.I32, 1);
            meta.listI32(PLAIN);
            meta.listHeader(3, Thrift.BINARY, 1);
            meta.listString(COLUMNS.get(c));
            meta.i32(4, 0); // UNCOMPRESSED
            meta.i64(5, rows.size());
            meta.i64(6, size);
            meta.i64(7, size);
            meta.i64(9, start);
            meta.stop();
            columnChunks.add(columnChunk(start, meta.bytes()));
        }
        Thrift footer = new Thrift();
        footer.i32(1, 1);
        footer.listHeader(2, Thrift.STRUCT, COLUMNS.size() + 1);
        footer.beginListStruct();
        footer.string(4, "medvault_chunks");
        footer.i32(5, COLUMNS.size());
        footer.endStruct();
        for (int c = 0; c < COLUMNS.size(); c++) {
            footer.beginListStruct();
            footer.i32(1, c == 0 ? TYPE_INT64 : TYPE_BYTE_ARRAY);
            footer.i32(3, REQUIRED);
            footer.string(4, COLUMNS.get(c));
            if (c == 1 || c == 2 || c == 3) {
                footer.i32(6, CONVERTED_UTF8);
            }
            footer.endStruct();
        }
        footer.i64(3, rows.size());
        footer.listHeader(4, Thrift.STRUCT, 1);
        footer.beginListStruct();
        footer.listHeader(1, Thrift.STRUCT, columnChunks.size());
        for (byte[] cc : columnChunks) {
            footer.raw(cc); // a struct's fields and its stop byte
        }
        footer.i64(2, total);
        footer.i64(3, rows.size());
        footer.endStruct();
        footer.string(6, createdBy);
        footer.stop();
        byte[] f = footer.bytes();
        file.write(f);
        file.write(new byte[] {(byte) f.length, (byte) (f.length >>> 8), (byte) (f.length >>> 16), (byte) (f.length >>> 24)});
        file.write(MAGIC);
        file.flush();
    }

    /** A ColumnChunk struct's body (fields then stop): file offset and metadata. */
    private static byte[] columnChunk(long offset, byte[] metaBody) {
        Thrift t = new Thrift();
        t.i64(2, offset);
        t.beginStruct(3);
        t.raw(metaBody);
        t.endRawStruct();
        t.stop();
        return t.bytes();
    }

    /** Column {@code c} of row {@code r}, PLAIN-encoded. */
    private static byte[] value(int c, Row r) {
        return switch (c) {
            case 0 -> {
                byte[] b = new byte[8];
                for (int i = 0; i < 8; i++) {
                    b[i] = (byte) (r.seq() >>> (8 * i));
                }
                yield b;
            }
            case 1 -> lengthPrefixed(r.sha256().getBytes(StandardCharsets.UTF_8));
            case 2 -> lengthPrefixed(String.join("\n", r.recordIds()).getBytes(StandardCharsets.UTF_8));
            case 3 -> lengthPrefixed(String.join(",", r.slots().stream().map(String::valueOf).toList()).getBytes(StandardCharsets.UTF_8));
            default -> lengthPrefixed(r.list());
        };
    }

    private static byte[] lengthPrefixed(byte[] v) {
        byte[] b = new byte[4 + v.length];
        int n = v.length;
        b[0] = (byte) n;
        b[1] = (byte) (n >>> 8);
        b[2] = (byte) (n >>> 16);
        b[3] = (byte) (n >>> 24);
        System.arraycopy(v, 0, b, 4, v.length);
        return b;
    }

    private static final class CountingOut extends OutputStream {
        private final OutputStream out;
        long count;

        CountingOut(OutputStream out) {
            this.out = out;
        }

        @Override
        public void write(int b) throws IOException {
            out.write(b);
            count++;
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            out.write(b, off, len);
            count += len;
        }

        @Override
        public void flush() throws IOException {
            out.flush();
        }
    }

    /** Thrift's compact protocol, the subset a Parquet footer needs. */
    static final class Thrift {
        static final int I32 = 5;
        static final int I64 = 6;
        static final int BINARY = 8;
        static final int LIST = 9;
        static final int STRUCT = 12;

        private final ByteArrayOutputStream out = new ByteArrayOutputStream();
        private final Deque<Integer> lastIds = new ArrayDeque<>();
        private int last;

        byte[] bytes() {
            return out.toByteArray();
        }

        private void field(int id, int type) {
            int delta = id - last;
            if (delta > 0 && delta <= 15) {
                out.write((delta << 4) | type);
            } else {
                out.write(type);
                varint(zigzag(id));
            }
            last = id;
        }

        void i32(int id, int v) {
            field(id, I32);
            varint(zigzag(v));
        }

        void i64(int id, long v) {
            field(id, I64);
            varint(zigzag(v));
        }

        void string(int id, String s) {
            field(id, BINARY);
            binary(s.getBytes(StandardCharsets.UTF_8));
        }

        void beginStruct(int id) {
            field(id, STRUCT);
            lastIds.push(last);
            last = 0;
        }

        /** A struct as a list element (no field header). */
        void beginListStruct() {
            lastIds.push(last);
            last = 0;
        }

        void endStruct() {
            out.write(0);
            last = lastIds.pop();
        }

        /** Ends a struct whose body (with its own stop byte) was written with {@link #raw}. */
        void endRawStruct() {
            last = lastIds.pop();
        }

        void stop() {
            out.write(0);
        }

        void raw(byte[] b) {
            out.writeBytes(b);
        }

        void listHeader(int id, int elementType, int size) {
            field(id, LIST);
            if (size < 15) {
                out.write((size << 4) | elementType);
            } else {
                out.write(0xF0 | elementType);
                varint(size);
            }
        }

        void listI32(int v) {
            varint(zigzag(v));
        }

        void listString(String s) {
            binary(s.getBytes(StandardCharsets.UTF_8));
        }

        private void binary(byte[] b) {
            varint(b.length);
            out.writeBytes(b);
        }

        private static long zigzag(long v) {
            return (v << 1) ^ (v >> 63);
        }

        private void varint(long v) {
            while ((v & ~0x7FL) != 0) {
                out.write((int) ((v & 0x7F) | 0x80));
                v >>>= 7;
            }
            out.write((int) v);
        }
    }
}
