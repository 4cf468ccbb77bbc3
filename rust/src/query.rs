//! `QueryExecutor.java`: runs a query plan over the vault's encrypted records, chunk by chunk.
//!
//! The plan (JSON, built and validated in Java against the schema) names record-layout slots and
//! clear constants in stored units. Per record: the predicate once, as one FheBool, then each
//! aggregate's contribution zeroed out at its native width (`if_then_zero`: one PBS per block),
//! widened for free, and reduced per chunk with one deferred-carry sum (`FheUint::sum`). Min and max
//! reduce with a max tree (min as the max of the complement). Histograms count cumulative
//! thresholds, bucket k = C_k − C_{k+1}, computed once at the end. Small-cell suppression is
//! homomorphic: every output of a cohort smaller than k becomes the all-ones "suppressed" marker.

use jni::objects::{JByteArray, JClass, JIntArray, JLongArray, JString};
use jni::sys::{jint, jlong};
use jni::EnvUnowned;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tfhe::prelude::*;
use tfhe::{FheBool, ServerKey};

use crate::ciphertext::{Ct, Kind};
use crate::error::{entry, Error, Result};
use crate::server_key::{self as ops};
use crate::workers::Workers;
use crate::{compact_list, handle, runtime, server_key};

#[derive(Deserialize, Serialize, Debug, Clone)]
#[serde(tag = "op", rename_all = "lowercase")]
pub enum Pred {
    True,
    /// `bits`: the field's values fit this many bits (even), so the comparison may run on a
    /// narrower type: fewer blocks, fewer bootstraps. 0 = the stored width.
    Cmp { cmp: String, slot: usize, c: u64, #[serde(default)] bits: u32 },
    Between { slot: usize, lo: u64, hi: u64, #[serde(default)] bits: u32 },
    In { slot: usize, values: Vec<u64>, #[serde(default)] bits: u32 },
    And { args: Vec<Pred> },
    Or { args: Vec<Pred> },
    Not { arg: Box<Pred> },
}

#[derive(Deserialize, Serialize, Debug, Clone)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Output {
    /// Σ cond, at `bits`.
    Count { bits: u32 },
    /// Σ cond·x over `slot`, at `bits`.
    Sum { slot: usize, bits: u32 },
    /// min / max over `slot` (identity for an empty cohort: suppressed anyway), at `bits`.
    Min { slot: usize, bits: u32 },
    Max { slot: usize, bits: u32 },
    /// Counts of records with x >= edge, for each edge; buckets are differences (at `bits`).
    /// `lower`/`upper`: bounds on x that the predicate implies for every counted record (the
    /// planner's interval analysis), so edges <= lower count exactly the cohort and edges >
    /// upper count nothing: neither needs a comparison or a sum per record.
    Hist {
        slot: usize,
        edges: Vec<u64>,
        bits: u32,
        #[serde(default)]
        lower: u64,
        #[serde(default)]
        upper: Option<u64>,
    },
}

/// How a histogram edge's cumulative count is obtained.
#[derive(Clone, Copy, PartialEq)]
enum Edge {
    /// Every counted record has x >= edge: the count itself.
    Cohort,
    /// No counted record reaches the edge: zero.
    Empty,
    /// One comparison on cond·x per record, summed.
    Compare,
}

fn edge_kind(e: u64, lower: u64, upper: Option<u64>) -> Edge {
    if e <= lower {
        Edge::Cohort
    } else if upper.is_some_and(|u| e > u) {
        Edge::Empty
    } else {
        Edge::Compare
    }
}

/// The edges of a histogram output that need a comparison per record.
fn compared_edges(o: &Output) -> Vec<u64> {
    match o {
        Output::Hist { edges, lower, upper, .. } => {
            edges.iter().copied().filter(|&e| edge_kind(e, *lower, *upper) == Edge::Compare).collect()
        }
        _ => Vec::new(),
    }
}

#[derive(Deserialize, Serialize, Debug)]
pub struct Plan {
    /// Type code of each value of a record (Kind codes), in layout order.
    pub layout: Vec<i32>,
    pub predicate: Pred,
    /// outputs[0] must be the Count used for suppression.
    pub outputs: Vec<Output>,
    pub min_cohort: u64,
}

fn kind_for_bits(bits: u32) -> Result<Kind> {
    Ok(match bits {
        8 => Kind::U8,
        16 => Kind::U16,
        32 => Kind::U32,
        64 => Kind::U64,
        _ => return Err(Error::invalid(format!("unsupported accumulator width {bits}"))),
    })
}

/// Partial results so far: per reduction (an additive series or an extremum), the nodes of the
/// canonical tree over the chunks fed (see [`Node`]); the chunks are [start, end) of the vault's
/// canonical order.
pub struct Executor {
    plan: Plan,
    plan_digest: [u8; 32],
    layout: Vec<Kind>,
    tasks: Vec<Reduce>,
    series: Vec<Vec<Node>>, // per task, in chunk order
    start: u64,
    end: u64,
    records: u64,
    workers: Workers,
}

/// One reduction of a chunk: an additive series (output, edge) or an extremum (output).
#[derive(Clone, Copy)]
enum Reduce {
    Sum(usize),
    Hist(usize, usize),
    Extremum(usize),
}

/// Children per node of the canonical reduction tree.
const FAN_IN: u64 = 16;
/// The highest level a node may have: 16^15 chunks is far past any vault.
const MAX_LEVEL: u32 = 15;

/// A node of the canonical reduction tree. Level 0 holds one value per chunk (the chunk's own sum
/// or maximum); node (L, j) combines the nodes (L−1, 16j..16j+15) that exist, so it covers chunks
/// [j·16^L, (j+1)·16^L). A node with a single child is that child. The root is node (L, 0) for the
/// least L with 16^L >= the chunk count. The tree, and with it every byte of the outputs, depends
/// only on the chunks and their order, never on how they were split among executors: any run of
/// consecutive chunks can be reduced on its own (its whole aligned subtrees), and runs merged in
/// order complete the same subtrees a single pass would.
#[derive(Clone)]
struct Node {
    level: u32,
    index: u64,
    value: Ct,
}

fn span(level: u32) -> Result<u64> {
    FAN_IN.checked_pow(level).filter(|_| level <= MAX_LEVEL).ok_or_else(|| Error::invalid(format!("tree level {level} is out of range")))
}

/// One node's value from its children's: a deferred-carry sum or a max tree.
fn combine(task: Reduce, terms: Vec<Ct>) -> Result<Ct> {
    match task {
        Reduce::Extremum(_) => max_tree(terms),
        Reduce::Sum(_) | Reduce::Hist(..) => ops::sum(&terms.iter().collect::<Vec<_>>()),
    }
}

/// Appends `node` (the next in chunk order) to a series and combines every group of 16 siblings
/// it completes, level after level. Memory stays bounded: at most 15 nodes wait per level.
fn push(series: &mut Vec<Node>, node: Node, task: Reduce) -> Result<()> {
    series.push(node);
    let k = FAN_IN as usize;
    while series.len() >= k {
        let last = &series[series.len() - 1];
        let (level, parent) = (last.level, last.index / FAN_IN);
        let group = &series[series.len() - k..];
        let siblings = level < MAX_LEVEL
            && group.iter().enumerate().all(|(i, g)| g.level == level && g.index == parent * FAN_IN + i as u64);
        if !siblings {
            break;
        }
        let at = series.len() - k;
        let terms = series.drain(at..).map(|g| g.value).collect();
        series.push(Node { level: level + 1, index: parent, value: combine(task, terms)? });
    }
    Ok(())
}

/// The root of the canonical tree over chunks [0, n), from a series covering them.
fn root(series: &[Node], n: u64, task: Reduce, zero: &dyn Fn() -> Result<Ct>) -> Result<Ct> {
    if n == 0 {
        return zero();
    }
    let mut top = 0;
    while span(top)? < n {
        top += 1;
    }
    node_value(series, top, 0, n, task)
}

fn node_value(series: &[Node], level: u32, index: u64, n: u64, task: Reduce) -> Result<Ct> {
    if let Some(node) = series.iter().find(|s| s.level == level && s.index == index) {
        return Ok(node.value.clone());
    }
    if level == 0 {
        return Err(Error::internal(format!("chunk {index} is missing from the partial results")));
    }
    let child_span = span(level - 1)?;
    let mut values = (0..FAN_IN)
        .map(|k| index * FAN_IN + k)
        .filter(|c| c.saturating_mul(child_span) < n)
        .map(|c| node_value(series, level - 1, c, n, task))
        .collect::<Result<Vec<_>>>()?;
    if values.len() == 1 {
        return values.pop().ok_or_else(|| Error::internal("no child"));
    }
    combine(task, values)
}

/// What a serialized partial result starts with (then format version 1).
const STATE_MAGIC: &[u8; 16] = b"medvault-partial";
const STATE_VERSION: u8 = 1;

/// A little-endian reader over a partial result that fails, never panics, on short input.
struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        let end = self.at.checked_add(n).filter(|&e| e <= self.bytes.len());
        let end = end.ok_or_else(|| Error::invalid("partial query result is truncated"))?;
        let out = &self.bytes[self.at..end];
        self.at = end;
        Ok(out)
    }
    fn u8(&mut self) -> Result<u8> {
        Ok(self.take(1)?[0])
    }
    fn u32(&mut self) -> Result<u32> {
        Ok(u32::from_le_bytes(self.take(4)?.try_into().map_err(|_| Error::internal("4 bytes"))?))
    }
    fn u64(&mut self) -> Result<u64> {
        Ok(u64::from_le_bytes(self.take(8)?.try_into().map_err(|_| Error::internal("8 bytes"))?))
    }
}

impl Executor {
    /// An executor that evaluates on `threads` workers; the outputs do not depend on `threads`.
    pub fn new(plan: Plan, threads: usize) -> Result<Executor> {
        let layout = plan.layout.iter().map(|&c| Kind::from_code(c)).collect::<Result<Vec<_>>>()?;
        if !matches!(plan.outputs.first(), Some(Output::Count { .. })) {
            return Err(Error::invalid("the first output of a plan must be the count"));
        }
        check_pred(&plan.predicate, &layout)?;
        for o in &plan.outputs {
            match o {
                Output::Count { bits } => {
                    kind_for_bits(*bits)?;
                }
                Output::Sum { slot, bits } | Output::Min { slot, bits } | Output::Max { slot, bits } => {
                    kind_for_bits(*bits)?;
                    check_slot(*slot, &layout)?;
                }
                Output::Hist { slot, bits, edges, .. } => {
                    kind_for_bits(*bits)?;
                    check_slot(*slot, &layout)?;
                    if edges.len() < 2 {
                        return Err(Error::invalid("a histogram needs at least two edges"));
                    }
                }
            }
        }
        let tasks = reductions(&plan.outputs);
        let text = serde_json::to_vec(&plan).map_err(|e| Error::internal(format!("cannot serialize the plan: {e}")))?;
        Ok(Executor {
            plan_digest: Sha256::digest(&text).into(),
            series: tasks.iter().map(|_| Vec::new()).collect(),
            tasks,
            plan,
            layout,
            start: 0,
            end: 0,
            records: 0,
            workers: Workers::new(threads)?,
        })
    }

    /// Starts this executor at chunk `first` of the canonical order (before any chunk is fed), for
    /// a run of chunks reduced apart from the rest (one partition of a cluster job).
    pub fn begin_at(&mut self, first: u64) -> Result<()> {
        if self.end != self.start || self.records != 0 {
            return Err(Error::invalid("an executor can only be moved before its first chunk"));
        }
        span(MAX_LEVEL)?; // the bound below is 16^15
        if first >= FAN_IN.pow(MAX_LEVEL) {
            return Err(Error::invalid(format!("chunk index {first} is out of range")));
        }
        self.start = first;
        self.end = first;
        Ok(())
    }

    /// The chunks fed or merged so far: [start, end) of the canonical order.
    pub fn chunks(&self) -> (u64, u64) {
        (self.start, self.end)
    }

    fn zero(&self, task: Reduce) -> Result<Ct> {
        ops::trivial(kind_for_bits(output_bits(&self.plan.outputs[task.output()]))?, 0)
    }

    /// The partial result: the plan's digest, the chunk run and every series' tree nodes, with
    /// their ciphertexts. Another executor of the same plan merges it ([`Executor::merge`]).
    pub fn state(&self) -> Result<Vec<u8>> {
        let mut out = Vec::new();
        out.extend_from_slice(STATE_MAGIC);
        out.push(STATE_VERSION);
        out.extend_from_slice(&self.plan_digest);
        for v in [self.start, self.end, self.records] {
            out.extend_from_slice(&v.to_le_bytes());
        }
        out.extend_from_slice(&(self.series.len() as u32).to_le_bytes());
        for series in &self.series {
            out.extend_from_slice(&(series.len() as u32).to_le_bytes());
            for node in series {
                let bytes = node.value.serialize()?;
                out.push(node.level as u8);
                out.extend_from_slice(&node.index.to_le_bytes());
                out.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
                out.extend_from_slice(&bytes);
            }
        }
        Ok(out)
    }

    /// Merges the partial result of the run of chunks that follows this executor's (an executor
    /// of the same plan, started where this one ends). Merged in chunk order, partial results
    /// give exactly the outputs one pass over all chunks gives.
    pub fn merge(&mut self, sk: &ServerKey, bytes: &[u8]) -> Result<()> {
        let mut r = Reader { bytes, at: 0 };
        if r.take(STATE_MAGIC.len())? != STATE_MAGIC || r.u8()? != STATE_VERSION {
            return Err(Error::invalid("not a MedVault partial query result"));
        }
        if r.take(32)? != self.plan_digest {
            return Err(Error::mismatch("the partial result is of another query plan"));
        }
        let (start, end, records) = (r.u64()?, r.u64()?, r.u64()?);
        if start != self.end {
            return Err(Error::invalid(format!(
                "partial results must be merged in chunk order: the next run starts at chunk {}, this one at {start}",
                self.end
            )));
        }
        if end < start || end > FAN_IN.pow(MAX_LEVEL) {
            return Err(Error::invalid(format!("partial result has a bad chunk run [{start}, {end})")));
        }
        if r.u32()? as usize != self.tasks.len() {
            return Err(Error::mismatch("the partial result has another number of series than the plan"));
        }
        let mut incoming = Vec::with_capacity(self.tasks.len());
        for &task in &self.tasks {
            let kind = self.zero(task)?.kind();
            let count = r.u32()? as u64;
            if count > FAN_IN * (MAX_LEVEL as u64 + 1) {
                return Err(Error::invalid("partial result has too many tree nodes"));
            }
            let mut nodes = Vec::with_capacity(count as usize);
            let mut cursor = start;
            for _ in 0..count {
                let level = r.u8()? as u32;
                let index = r.u64()?;
                let len = r.u32()? as usize;
                let first = index.checked_mul(span(level)?);
                if first != Some(cursor) {
                    return Err(Error::invalid(format!("partial result's tree node ({level}, {index}) is not at chunk {cursor}")));
                }
                cursor = cursor.checked_add(span(level)?).filter(|&c| c <= end).ok_or_else(|| Error::invalid("partial result's tree nodes pass its last chunk"))?;
                let value = Ct::deserialize(kind, r.take(len)?)?;
                crate::params::check_same_key("partial result", value.tag(), "server key", sk.tag())?;
                nodes.push(Node { level, index, value });
            }
            if cursor != end {
                return Err(Error::invalid(format!("partial result's tree nodes cover chunks up to {cursor}, not {end}")));
            }
            incoming.push(nodes);
        }
        if r.at != bytes.len() {
            return Err(Error::invalid("partial query result has trailing bytes"));
        }
        let merged: Vec<Vec<Node>> = {
            let this = &*self;
            this.workers.map(sk, this.tasks.len(), |t| {
                let mut series = this.series[t].clone();
                for node in &incoming[t] {
                    push(&mut series, node.clone(), this.tasks[t])?;
                }
                Ok(series)
            })?
        };
        self.series = merged;
        self.end = end;
        self.records += records;
        Ok(())
    }

    pub fn records(&self) -> u64 {
        self.records
    }

    /// Adds the records at `slots` of one compact list (a vault chunk). Chunks must come in the
    /// vault's canonical order for the outputs to be canonical.
    pub fn feed(&mut self, sk: &ServerKey, list_bytes: &[u8], slots: &[usize]) -> Result<()> {
        let cts = chunk_values(sk, list_bytes)?;
        let per = self.layout.len();
        if cts.len() % per != 0 || cts.chunks(per).any(|r| r.iter().map(Ct::kind).ne(self.layout.iter().copied())) {
            return Err(Error::mismatch("a vault chunk does not have the schema's record layout"));
        }
        let n_rec = cts.len() / per;
        if let Some(&bad) = slots.iter().find(|&&s| s >= n_rec) {
            return Err(Error::invalid(format!("slot {bad} is outside a chunk of {n_rec} records")));
        }
        // Per record, one task each: the predicate once, then every output's contribution.
        let contributions: Vec<Vec<Contribution>> = {
            let this = &*self;
            this.workers.map(sk, slots.len(), |k| this.record(&cts[slots[k] * per..(slots[k] + 1) * per]))?
        };
        // Per output (and histogram edge), one task: a deferred-carry sum (additive) or a max
        // tree (extrema) for the chunk, added to the canonical tree as the next leaf.
        let leaf = self.end;
        let reduced: Vec<Vec<Node>> = {
            let this = &*self;
            this.workers.map(sk, this.tasks.len(), |t| {
                let task = this.tasks[t];
                let terms: Vec<Ct> = match task {
                    Reduce::Sum(o) | Reduce::Extremum(o) => contributions.iter().map(|c| c[o].single().clone()).collect(),
                    Reduce::Hist(o, e) => contributions.iter().map(|c| c[o].many()[e].clone()).collect(),
                };
                let value = if terms.is_empty() { this.zero(task)? } else { combine(task, terms)? };
                let mut series = this.series[t].clone();
                push(&mut series, Node { level: 0, index: leaf, value }, task)?;
                Ok(series)
            })?
        };
        self.series = reduced;
        self.end += 1;
        self.records += slots.len() as u64;
        Ok(())
    }

    fn record(&self, values: &[Ct]) -> Result<Vec<Contribution>> {
        let cond = eval(&self.plan.predicate, values)?;
        // cond ? x : 0 per slot, computed once and shared: max(x) reduces it, and a histogram
        // threshold on it needs no AND (x·cond >= e  <=>  cond AND x >= e, for e > 0).
        let mut masked: Vec<Option<Ct>> = (0..values.len()).map(|_| None).collect();
        let mut masked_of = |slot: usize| -> Result<Ct> {
            if masked[slot].is_none() {
                masked[slot] = Some(if_then_zero(&cond, &values[slot])?);
            }
            Ok(masked[slot].as_ref().expect("set above").clone())
        };
        let mut out = Vec::with_capacity(self.plan.outputs.len());
        for o in &self.plan.outputs {
            out.push(match o {
                Output::Count { bits } => Contribution::One(ops::cast(&Ct::Bool(cond.clone()), kind_for_bits(*bits)?)?),
                Output::Sum { slot, bits } | Output::Max { slot, bits } => {
                    Contribution::One(ops::cast(&masked_of(*slot)?, kind_for_bits(*bits)?)?)
                }
                Output::Min { slot, bits } => {
                    // min x = !max(!x) at the output width; filtered-out records contribute 0 = !max.
                    let wide = ops::cast(&values[*slot], kind_for_bits(*bits)?)?;
                    Contribution::One(if_then_zero(&cond, &ops::not(&wide)?)?)
                }
                Output::Hist { slot, bits, .. } => {
                    let k = kind_for_bits(*bits)?;
                    let edges = compared_edges(o);
                    let mut flags = Vec::with_capacity(edges.len());
                    // Edge 0 (and any edge <= lower) is the cohort itself: never compared here.
                    for e in edges {
                        let flag = if values[*slot].kind().check_value(e).is_err() {
                            FheBool::encrypt_trivial(false)
                        } else {
                            bool_of(ops::compare_scalar(5, &masked_of(*slot)?, e)?)?
                        };
                        flags.push(ops::cast(&Ct::Bool(flag), k)?);
                    }
                    Contribution::Many(flags)
                }
            });
        }
        Ok(out)
    }

    /// Final outputs, in plan order (histograms expand to one output per bucket), with small-cell
    /// suppression applied homomorphically: primary (a cohort under k hides everything, a bucket
    /// of 1..k−1 records hides itself) and secondary (no suppressed bucket can be recovered as the
    /// count minus the visible ones).
    pub fn finish(&mut self, sk: &ServerKey) -> Result<Vec<Ct>> {
        let outputs = &self.plan.outputs;
        let k_min = self.plan.min_cohort;
        // 1. Every accumulated value: the root of each series' tree, one task per series.
        if self.start != 0 {
            return Err(Error::invalid(format!(
                "this executor holds chunks [{}, {}) only: merge the partial results from chunk 0 before finishing",
                self.start, self.end
            )));
        }
        let tasks = self.tasks.clone();
        let n = self.end;
        let totals: Vec<Ct> = self.workers.map(sk, tasks.len(), |i| {
            let total = root(&self.series[i], n, tasks[i], &|| self.zero(tasks[i]))?;
            match (tasks[i], &outputs[tasks[i].output()]) {
                (Reduce::Extremum(_), Output::Min { .. }) => ops::not(&total),
                _ => Ok(total),
            }
        })?;
        let mut total_of = std::collections::HashMap::new();
        for (t, v) in tasks.iter().zip(totals) {
            let key = match *t {
                Reduce::Sum(o) | Reduce::Extremum(o) => (o, usize::MAX),
                Reduce::Hist(o, e) => (o, e),
            };
            total_of.insert(key, v);
        }
        let count = total_of.get(&(0, usize::MAX)).cloned().ok_or_else(|| Error::internal("no count output"))?;

        // 2. Histogram buckets from cumulative counts (one task per bucket), and the cohort test.
        let mut buckets = Vec::new();
        for (o, out) in outputs.iter().enumerate() {
            if let Output::Hist { edges, bits, lower, upper, .. } = out {
                let k = kind_for_bits(*bits)?;
                let mut cumulative = Vec::with_capacity(edges.len());
                let mut j = 0;
                for &e in edges {
                    cumulative.push(match edge_kind(e, *lower, *upper) {
                        Edge::Cohort => Cumulative::Cohort(k),
                        Edge::Empty => Cumulative::Value(ops::trivial(k, 0)?),
                        Edge::Compare => {
                            j += 1;
                            Cumulative::Value(total_of.get(&(o, j - 1)).cloned().ok_or_else(|| Error::internal("missing edge"))?)
                        }
                    });
                }
                for b in 0..edges.len() - 1 {
                    buckets.push((o, cumulative[b].clone(), cumulative[b + 1].clone()));
                }
            }
        }
        // Task 0: count < k; tasks 1..: each bucket's value, whether it is suppressed (1..k−1
        // records; an empty bucket is shown as 0, it names nobody) and its value if suppressed.
        struct Staged {
            value: Option<Ct>,
            small: FheBool,
            hidden: Option<Ct>,
        }
        let staged: Vec<Staged> = self.workers.map(sk, buckets.len() + 1, |i| {
            if i == 0 {
                let small = bool_of(ops::compare_scalar(2, &count, k_min)?)?; // LT
                return Ok(Staged { value: None, small, hidden: None });
            }
            let (_, lo, hi) = &buckets[i - 1];
            let v = ops::binary(1, &lo.resolve(&count)?, &hi.resolve(&count)?)?; // SUB
            let under = bool_of(ops::compare_scalar(2, &v, k_min)?)?; // LT
            let nonzero = bool_of(ops::compare_scalar(1, &v, 0)?)?; // NE
            let small = &under & &nonzero;
            let hidden = if_then_zero(&small, &v)?;
            Ok(Staged { value: Some(v), small, hidden: Some(hidden) })
        })?;
        let (cohort_stage, bucket_stages) = staged.split_first().ok_or_else(|| Error::internal("no cohort test"))?;
        let small_cohort = &cohort_stage.small;

        // 3. Secondary suppression, per histogram: when the suppressed buckets together hold 1..k−1
        // records, the count minus the visible buckets would reveal them, so every bucket of that
        // histogram is hidden. The suppressed mass is 0 exactly when no bucket is suppressed.
        let hists: Vec<usize> = outputs.iter().enumerate().filter(|(_, o)| matches!(o, Output::Hist { .. })).map(|(o, _)| o).collect();
        let fragile: Vec<FheBool> = self.workers.map(sk, hists.len(), |h| {
            let hidden: Vec<&Ct> = buckets
                .iter()
                .zip(bucket_stages)
                .filter(|((o, ..), _)| *o == hists[h])
                .map(|(_, st)| st.hidden.as_ref().expect("every bucket task zeroes out its value"))
                .collect();
            let mass = ops::sum(&hidden)?;
            let some = bool_of(ops::compare_scalar(1, &mass, 0)?)?; // NE
            let under = bool_of(ops::compare_scalar(2, &mass, k_min)?)?; // LT
            Ok(&some & &under)
        })?;

        // 4. Suppression: one task per released value, its hiding condition computed in the task.
        let mut released: Vec<(Ct, Option<(usize, usize)>)> = Vec::new(); // (value, (bucket, histogram))
        let mut b = 0;
        for (o, out) in outputs.iter().enumerate() {
            match out {
                Output::Hist { edges, .. } => {
                    let h = hists.iter().position(|&x| x == o).expect("a histogram");
                    for _ in 0..edges.len() - 1 {
                        let value = bucket_stages[b].value.clone().expect("every bucket task returns its value");
                        released.push((value, Some((b, h))));
                        b += 1;
                    }
                }
                _ => released.push((total_of.get(&(o, usize::MAX)).cloned().ok_or_else(|| Error::internal("missing output"))?, None)),
            }
        }
        self.workers.map(sk, released.len(), |i| {
            let (value, bucket) = &released[i];
            let hide = match bucket {
                Some((b, h)) => &(small_cohort | &bucket_stages[*b].small) | &fragile[*h],
                None => small_cohort.clone(),
            };
            suppress(&hide, value)
        })
    }

    /// Noise-squashes `outputs` (one task each) and serializes them: the squashed forms custodians
    /// decrypt. Canonical like the evaluation: the same outputs give the same bytes.
    pub fn squash(&self, sk: &ServerKey, outputs: &[&Ct]) -> Result<Vec<Vec<u8>>> {
        self.workers.map(sk, outputs.len(), |i| crate::release::squash_to_bytes(outputs[i]))
    }
}

/// A histogram's cumulative count at one edge: the cohort itself, or a value.
/// The values of a vault chunk: a compact list of trusted records (expanded with no bootstrap) or
/// one sanitized submitted record. Every value must be under the server key's key id.
fn chunk_values(sk: &ServerKey, bytes: &[u8]) -> Result<Vec<Ct>> {
    let cts = if crate::submission::is_sanitized(bytes) {
        crate::submission::sanitized_from_bytes(bytes)?
    } else {
        let list = compact_list::deserialize(bytes)?;
        crate::params::check_same_key("vault chunk", list.tag(), "server key", sk.tag())?;
        compact_list::expand(&list)?
    };
    for ct in &cts {
        crate::params::check_same_key("vault chunk", ct.tag(), "server key", sk.tag())?;
    }
    Ok(cts)
}

#[derive(Clone)]
enum Cumulative {
    Cohort(Kind),
    Value(Ct),
}

impl Cumulative {
    fn resolve(&self, count: &Ct) -> Result<Ct> {
        match self {
            Cumulative::Cohort(k) => ops::cast(count, *k),
            Cumulative::Value(v) => Ok(v.clone()),
        }
    }
}

fn output_bits(o: &Output) -> u32 {
    match o {
        Output::Count { bits }
        | Output::Sum { bits, .. }
        | Output::Min { bits, .. }
        | Output::Max { bits, .. }
        | Output::Hist { bits, .. } => *bits,
    }
}

/// The reductions of a plan's outputs, in order: one per additive output, one per compared
/// histogram edge, one per extremum.
fn reductions(outputs: &[Output]) -> Vec<Reduce> {
    let mut tasks = Vec::new();
    for (o, out) in outputs.iter().enumerate() {
        match out {
            Output::Count { .. } | Output::Sum { .. } => tasks.push(Reduce::Sum(o)),
            Output::Hist { .. } => tasks.extend((0..compared_edges(out).len()).map(|e| Reduce::Hist(o, e))),
            Output::Min { .. } | Output::Max { .. } => tasks.push(Reduce::Extremum(o)),
        }
    }
    tasks
}

impl Reduce {
    fn output(self) -> usize {
        match self {
            Reduce::Sum(o) | Reduce::Hist(o, _) | Reduce::Extremum(o) => o,
        }
    }
}

enum Contribution {
    One(Ct),
    Many(Vec<Ct>),
}

impl Contribution {
    fn single(&self) -> &Ct {
        match self {
            Contribution::One(c) => c,
            Contribution::Many(v) => &v[0],
        }
    }
    fn many(&self) -> &[Ct] {
        match self {
            Contribution::One(c) => std::slice::from_ref(c),
            Contribution::Many(v) => v,
        }
    }
}


fn bool_of(c: Ct) -> Result<FheBool> {
    match c {
        Ct::Bool(b) => Ok(b),
        _ => Err(Error::internal("expected a boolean")),
    }
}

/// Replaces `v` by the all-ones marker of its width when `hide` is true.
fn suppress(hide: &FheBool, v: &Ct) -> Result<Ct> {
    let marker = ops::trivial(v.kind(), if v.kind().bits() == 64 { u64::MAX } else { (1u64 << v.kind().bits()) - 1 })?;
    ops::select(&Ct::Bool(hide.clone()), &marker, v)
}

fn if_then_zero(cond: &FheBool, v: &Ct) -> Result<Ct> {
    Ok(match v {
        Ct::Bool(x) => Ct::Bool(cond & x),
        Ct::U8(x) => Ct::U8(cond.if_then_zero(x)),
        Ct::U16(x) => Ct::U16(cond.if_then_zero(x)),
        Ct::U32(x) => Ct::U32(cond.if_then_zero(x)),
        Ct::U64(x) => Ct::U64(cond.if_then_zero(x)),
    })
}

fn max_tree(mut terms: Vec<Ct>) -> Result<Ct> {
    while terms.len() > 1 {
        let pairs: Vec<(Ct, Option<Ct>)> = {
            let mut v = Vec::new();
            let mut it = terms.into_iter();
            while let Some(a) = it.next() {
                v.push((a, it.next()));
            }
            v
        };
        terms = pairs
            .into_iter()
            .map(|(a, b)| match b {
                Some(b) => ops::binary(4, &a, &b), // MAX
                None => Ok(a),
            })
            .collect::<Result<Vec<_>>>()?;
    }
    terms.pop().ok_or_else(|| Error::internal("max of nothing"))
}

/// The slot must exist and hold a number (aggregates are over numeric fields).
fn check_slot(slot: usize, layout: &[Kind]) -> Result<()> {
    let k = layout.get(slot).ok_or_else(|| Error::invalid(format!("slot {slot} is outside the record layout")))?;
    if *k == Kind::Bool {
        return Err(Error::invalid(format!("slot {slot} is a boolean; a number is needed")));
    }
    Ok(())
}

fn check_pred(p: &Pred, layout: &[Kind]) -> Result<()> {
    let fits = |slot: usize, bits: u32, c: u64| -> Result<()> {
        let k = layout.get(slot).ok_or_else(|| Error::invalid(format!("slot {slot} is outside the record layout")))?;
        k.check_value(c)?;
        if bits != 0 && bits < 64 && c >= (1u64 << bits) {
            return Err(Error::invalid(format!("constant {c} does not fit the {bits} bits declared for slot {slot}")));
        }
        Ok(())
    };
    match p {
        Pred::True => Ok(()),
        Pred::Cmp { slot, c, bits, .. } => fits(*slot, *bits, *c),
        Pred::Between { slot, lo, hi, bits } => {
            fits(*slot, *bits, *lo)?;
            fits(*slot, *bits, *hi)
        }
        Pred::In { slot, values, bits } => values.iter().try_for_each(|v| fits(*slot, *bits, *v)),
        Pred::And { args } | Pred::Or { args } => args.iter().try_for_each(|a| check_pred(a, layout)),
        Pred::Not { arg } => check_pred(arg, layout),
    }
}

/// A field value truncated to `bits` (even, 2..=14) when that is narrower than its stored type:
/// the dropped blocks encrypt zeros for every value the codec accepts, and truncation is free.
enum Narrow {
    Wide(Ct),
    U2(tfhe::FheUint2),
    U4(tfhe::FheUint4),
    U6(tfhe::FheUint6),
    U10(tfhe::FheUint10),
    U12(tfhe::FheUint12),
    U14(tfhe::FheUint14),
}

fn narrow(x: &Ct, bits: u32) -> Result<Narrow> {
    if bits == 0 || bits >= x.kind().bits() || matches!(x, Ct::Bool(_)) {
        return Ok(Narrow::Wide(x.clone()));
    }
    if bits == 8 {
        return Ok(Narrow::Wide(ops::cast(x, Kind::U8)?));
    }
    macro_rules! cut {
        ($variant:ident, $t:ty) => {
            Narrow::$variant(match x {
                Ct::U8(v) => <$t>::cast_from(v.clone()),
                Ct::U16(v) => <$t>::cast_from(v.clone()),
                Ct::U32(v) => <$t>::cast_from(v.clone()),
                Ct::U64(v) => <$t>::cast_from(v.clone()),
                Ct::Bool(_) => unreachable!("booleans are never narrowed"),
            })
        };
    }
    Ok(match bits {
        2 => cut!(U2, tfhe::FheUint2),
        4 => cut!(U4, tfhe::FheUint4),
        6 => cut!(U6, tfhe::FheUint6),
        10 => cut!(U10, tfhe::FheUint10),
        12 => cut!(U12, tfhe::FheUint12),
        14 => cut!(U14, tfhe::FheUint14),
        _ => Narrow::Wide(x.clone()),
    })
}

fn narrow_cmp(op: i32, x: &Narrow, c: u64) -> Result<FheBool> {
    macro_rules! cmp {
        ($v:expr, $s:ty) => {{
            let c = <$s>::try_from(c).map_err(|_| Error::invalid(format!("constant {c} does not fit the narrowed field")))?;
            match op {
                0 => $v.eq(c),
                1 => $v.ne(c),
                2 => $v.lt(c),
                3 => $v.le(c),
                4 => $v.gt(c),
                5 => $v.ge(c),
                other => return Err(Error::invalid(format!("unknown comparison code {other}"))),
            }
        }};
    }
    Ok(match x {
        Narrow::Wide(w) => bool_of(ops::compare_scalar(op, w, c)?)?,
        Narrow::U2(v) => cmp!(v, u8),
        Narrow::U4(v) => cmp!(v, u8),
        Narrow::U6(v) => cmp!(v, u8),
        Narrow::U10(v) => cmp!(v, u16),
        Narrow::U12(v) => cmp!(v, u16),
        Narrow::U14(v) => cmp!(v, u16),
    })
}

fn cmp_code(cmp: &str) -> Result<i32> {
    Ok(match cmp {
        "eq" => 0,
        "ne" => 1,
        "lt" => 2,
        "le" => 3,
        "gt" => 4,
        "ge" => 5,
        other => return Err(Error::invalid(format!("unknown comparison '{other}'"))),
    })
}

fn eval(p: &Pred, values: &[Ct]) -> Result<FheBool> {
    Ok(match p {
        Pred::True => FheBool::encrypt_trivial(true),
        Pred::Cmp { cmp, slot, c, bits } => narrow_cmp(cmp_code(cmp)?, &narrow(&values[*slot], *bits)?, *c)?,
        Pred::Between { slot, lo, hi, bits } => {
            let x = narrow(&values[*slot], *bits)?;
            let a = narrow_cmp(5, &x, *lo)?;
            let b = narrow_cmp(3, &x, *hi)?;
            &a & &b
        }
        Pred::In { slot, values: vs, bits } => {
            let x = narrow(&values[*slot], *bits)?;
            let mut acc: Option<FheBool> = None;
            for v in vs {
                let e = narrow_cmp(0, &x, *v)?;
                acc = Some(match acc {
                    None => e,
                    Some(a) => &a | &e,
                });
            }
            acc.unwrap_or_else(|| FheBool::encrypt_trivial(false))
        }
        Pred::And { args } => {
            let mut acc = eval(&args[0], values)?;
            for a in &args[1..] {
                acc = &acc & &eval(a, values)?;
            }
            acc
        }
        Pred::Or { args } => {
            let mut acc = eval(&args[0], values)?;
            for a in &args[1..] {
                acc = &acc | &eval(a, values)?;
            }
            acc
        }
        Pred::Not { arg } => !eval(arg, values)?,
    })
}


// ---- JNI ----

/// An executor behind its handle: a mutex, so two Java threads feeding one executor at once
/// take turns instead of racing on its partial sums.
type Shared = std::sync::Mutex<Executor>;

/// # Safety
/// `h` must be a live executor handle.
unsafe fn get<'a>(h: jlong) -> Result<std::sync::MutexGuard<'a, Executor>> {
    unsafe { handle::borrow::<Shared>(h, "query executor") }?
        .lock()
        .map_err(|_| Error::internal("a query executor failed mid-update; start the query again"))
}

#[unsafe(no_mangle)]
pub extern "system" fn Java_org_medvault_fhe_QueryExecutor_nativeCreate<'l>(
    mut env: EnvUnowned<'l>,
    _c: JClass<'l>,
    plan: JString<'l>,
    threads: jint,
) -> jlong {
    entry(&mut env, |env| {
        let text: String = plan.try_to_string(env)?;
        let plan: Plan = serde_json::from_str(&text).map_err(|e| Error::invalid(format!("bad query plan: {e}")))?;
        let threads = if threads <= 0 { runtime::threads()? } else { threads as usize };
        Ok(handle::into_handle::<Shared>(std::sync::Mutex::new(Executor::new(plan, threads)?)))
    })
}

crate::native_destroy!(Java_org_medvault_fhe_QueryExecutor_nativeDestroy, Shared);

#[unsafe(no_mangle)]
pub extern "system" fn Java_org_medvault_fhe_QueryExecutor_nativeFeed<'l>(
    mut env: EnvUnowned<'l>,
    _c: JClass<'l>,
    h: jlong,
    sk: jlong,
    list: JByteArray<'l>,
    slots: JIntArray<'l>,
) {
    entry(&mut env, |env| {
        let sk = unsafe { server_key::get(sk) }?;
        let bytes = env.convert_byte_array(&list)?;
        let mut s = vec![0; slots.len(env)?];
        slots.get_region(env, 0, &mut s)?;
        let slots: Vec<usize> = s.into_iter().map(|x| x.max(0) as usize).collect();
        let mut ex = unsafe { get(h) }?;
        runtime::compute(&sk.key, || ex.feed(&sk.key, &bytes, &slots))
    })
}

#[unsafe(no_mangle)]
pub extern "system" fn Java_org_medvault_fhe_QueryExecutor_nativeFinish<'l>(
    mut env: EnvUnowned<'l>,
    _c: JClass<'l>,
    h: jlong,
    sk: jlong,
) -> JLongArray<'l> {
    entry(&mut env, |env| {
        let sk = unsafe { server_key::get(sk) }?;
        let mut ex = unsafe { get(h) }?;
        let outs = runtime::compute(&sk.key, || ex.finish(&sk.key))?;
        handle::ciphertext_array(env, outs)
    })
}

/// The noise-squashed, serialized forms of `cts` (outputs of this executor), canonical bytes.
#[unsafe(no_mangle)]
pub extern "system" fn Java_org_medvault_fhe_QueryExecutor_nativeSquash<'l>(
    mut env: EnvUnowned<'l>,
    _c: JClass<'l>,
    h: jlong,
    sk: jlong,
    cts: JLongArray<'l>,
) -> jni::objects::JObjectArray<'l> {
    entry(&mut env, |env| {
        let sk = unsafe { server_key::get(sk) }?;
        let mut hs = vec![0; cts.len(env)?];
        cts.get_region(env, 0, &mut hs)?;
        let outs = hs.iter().map(|&c| unsafe { crate::ciphertext::get(c) }).collect::<Result<Vec<_>>>()?;
        for c in &outs {
            crate::params::check_same_key("ciphertext", c.tag(), "server key", sk.key.tag())?;
        }
        let ex = unsafe { get(h) }?;
        let bytes = runtime::compute(&sk.key, || ex.squash(&sk.key, &outs))?;
        handle::byte_arrays(env, &bytes)
    })
}

/// Records fed so far.
#[unsafe(no_mangle)]
pub extern "system" fn Java_org_medvault_fhe_QueryExecutor_nativeRecords<'l>(mut env: EnvUnowned<'l>, _c: JClass<'l>, h: jlong) -> jlong {
    entry(&mut env, |_| Ok(unsafe { get(h) }?.records() as jlong))
}

/// Starts the executor at chunk `first` of the canonical order (a run reduced apart).
#[unsafe(no_mangle)]
pub extern "system" fn Java_org_medvault_fhe_QueryExecutor_nativeBeginAt<'l>(mut env: EnvUnowned<'l>, _c: JClass<'l>, h: jlong, first: jlong) {
    entry(&mut env, |_| {
        let first = u64::try_from(first).map_err(|_| Error::invalid(format!("chunk index {first} is negative")))?;
        unsafe { get(h) }?.begin_at(first)
    })
}

/// [start, end) of the chunks fed or merged so far.
#[unsafe(no_mangle)]
pub extern "system" fn Java_org_medvault_fhe_QueryExecutor_nativeChunks<'l>(mut env: EnvUnowned<'l>, _c: JClass<'l>, h: jlong) -> JLongArray<'l> {
    entry(&mut env, |env| {
        let (start, end) = unsafe { get(h) }?.chunks();
        handle::long_array(env, &[start as jlong, end as jlong])
    })
}

/// The serialized partial result (plan digest, chunk run, tree nodes).
#[unsafe(no_mangle)]
pub extern "system" fn Java_org_medvault_fhe_QueryExecutor_nativeState<'l>(mut env: EnvUnowned<'l>, _c: JClass<'l>, h: jlong) -> JByteArray<'l> {
    entry(&mut env, |env| {
        let bytes = unsafe { get(h) }?.state()?;
        Ok(env.byte_array_from_slice(&bytes)?)
    })
}

/// Merges the partial result of the next run of chunks.
#[unsafe(no_mangle)]
pub extern "system" fn Java_org_medvault_fhe_QueryExecutor_nativeMerge<'l>(
    mut env: EnvUnowned<'l>,
    _c: JClass<'l>,
    h: jlong,
    sk: jlong,
    state: JByteArray<'l>,
) {
    entry(&mut env, |env| {
        let sk = unsafe { server_key::get(sk) }?;
        let bytes = env.convert_byte_array(&state)?;
        let mut ex = unsafe { get(h) }?;
        runtime::compute(&sk.key, || ex.merge(&sk.key, &bytes))
    })
}
