// The review editor: the transcript as turns of word spans beside the recording. The page holds
// the Transcript JSON from the server and edits it in place; every edit replaces a range of
// segments (and maybe the speaker list) and pushes that before/after pair on the undo stack, so
// undo costs memory in proportion to the edit, not to a 3-hour transcript. Autosave PUTs the
// whole transcript with the version it was based on; a 409 keeps the local copy.
import {
  api, loadMe, header, el, fmtTime, fmtDate, KINDS, ApiError,
} from "/assets/common.js";

const LOW = 0.5; // words below this probability are underlined and visited by F7/F8
const AUTOSAVE_MS = 2000;
const SKIP_S = 3;

const meetingId = decodeURIComponent(location.pathname.split("/").filter(Boolean)[1] || "");
const params = new URLSearchParams(location.search);
const viewVersion = params.has("v") ? Number(params.get("v")) : null;
const startAt = params.has("t") ? Number(params.get("t")) : null;
const startTurn = params.has("turn") ? Number(params.get("turn")) : null;
const searched = params.get("q") || "";
const draftKey = `gijiroku:draft:${meetingId}`;

const audio = document.getElementById("audio");
const box = document.getElementById("transcript");
const banners = document.getElementById("banners");

let meeting = null;
let T = null; // the Transcript being edited
let baseVersion = null; // the server version T is based on
let readOnly = false;
let spaced = false; // language writes spaces between words (English) or not (Japanese)

let undoStack = [];
let redoStack = [];
let dirty = false;
let saving = false;
let conflict = false;
let changeGen = 0; // bumps on every change, so a save only clears `dirty` if nothing changed meanwhile
let saveTimer = null;
let draftTimer = null;
let pending = new Set(); // labels of the changes since the last save: the version's note

let flat = []; // every rendered word: {si, wi, start, end, prob, el}
let starts = new Float64Array(0);
let selected = -1; // index into flat
let current = -1; // index into flat of the word being played
let follow = true; // scroll along with playback until the user scrolls away
let editing = null; // {el, si, wi} while a word is edited inline
let leaving = false; // set when the page reloads on purpose (the local copy is in localStorage)

// ---- small helpers --------------------------------------------------------------------------

const clone = (x) => structuredClone(x);

function segText(words) {
  return words.map((w) => w.text).join("").trim();
}

function speakerById(id) {
  return T.speakers.find((s) => s.id === id) || null;
}

function speakerName(id) {
  if (id === null || id === undefined) return "話者不明";
  const s = speakerById(id);
  return s ? s.name || s.label || s.id : id;
}

function speakerColor(id) {
  const i = T.speakers.findIndex((s) => s.id === id);
  if (i < 0) return "#5b6475";
  const hues = [214, 140, 20, 280, 340, 180, 45, 95, 250, 0];
  return `hsl(${hues[i % hues.length]} 60% 36%)`;
}

/** The turns: runs of consecutive segments with the same speaker. Segments without a speaker
 *  (diarization did not run) are a turn each, so a long undiarized recording is not one block. */
function turns() {
  const out = [];
  T.segments.forEach((s, i) => {
    const last = out[out.length - 1];
    if (last && s.speaker && last.speaker === s.speaker) last.end = i + 1;
    else out.push({ speaker: s.speaker ?? null, start: i, end: i + 1 });
  });
  return out;
}

function turnOfSegment(si) {
  return turns().find((t) => si >= t.start && si < t.end);
}

function newSpeaker() {
  let n = 0;
  for (const s of T.speakers) {
    const m = /^S(\d+)$/.exec(s.id);
    if (m) n = Math.max(n, Number(m[1]));
  }
  n += 1;
  const sp = {
    id: `S${n}`,
    label: T.language === "ja" ? `話者${n}` : `Speaker ${n}`,
    name: null,
    role: null,
  };
  T.speakers.push(sp);
  return sp.id;
}

function setSegmentSpeaker(seg, id) {
  seg.speaker = id;
  for (const w of seg.words) w.speaker = id;
}

/** Segment times must enclose their words (the server checks). */
function fitSegment(seg) {
  if (!seg.words.length) return;
  seg.start = Math.min(seg.start, seg.words[0].start);
  seg.end = Math.max(seg.end, seg.words[seg.words.length - 1].end);
}

// ---- edits and undo -------------------------------------------------------------------------

/** Replaces segments [a, b) with what `mutate` returns (it gets a copy) and records the edit.
 *  `whole` also snapshots speakers and turns, for edits that touch them. */
function change(label, a, b, mutate, whole = false) {
  if (readOnly) return;
  const before = clone(T.segments.slice(a, b));
  const spBefore = whole ? clone(T.speakers) : null;
  const turnsBefore = whole ? clone(T.turns) : null;
  const after = mutate(clone(before));
  for (const s of after) s.text = segText(s.words);
  const kept = after.filter((s) => s.words.length > 0);
  T.segments.splice(a, b - a, ...kept);
  renumber();
  undoStack.push({
    label, a, before, after: clone(kept), spBefore, turnsBefore,
    spAfter: whole ? clone(T.speakers) : null, turnsAfter: whole ? clone(T.turns) : null,
  });
  if (undoStack.length > 300) undoStack.shift();
  redoStack = [];
  changed(label);
}

function renumber() {
  T.segments.forEach((s, i) => (s.id = i));
}

function undo() {
  const e = undoStack.pop();
  if (!e) return;
  T.segments.splice(e.a, e.after.length, ...clone(e.before));
  if (e.spBefore) T.speakers = clone(e.spBefore);
  if (e.turnsBefore) T.turns = clone(e.turnsBefore);
  renumber();
  redoStack.push(e);
  changed(`取消: ${e.label}`);
}

function redo() {
  const e = redoStack.pop();
  if (!e) return;
  T.segments.splice(e.a, e.before.length, ...clone(e.after));
  if (e.spAfter) T.speakers = clone(e.spAfter);
  if (e.turnsAfter) T.turns = clone(e.turnsAfter);
  renumber();
  undoStack.push(e);
  changed(e.label);
}

function changed(label) {
  if (label) pending.add(label);
  changeGen += 1;
  dirty = true;
  // The local copy is written a moment later: stringifying a long transcript takes a while
  // and should not delay showing the edit.
  clearTimeout(draftTimer);
  draftTimer = setTimeout(keepDraft, 300);
  setStatus();
  render();
  clearTimeout(saveTimer);
  if (!conflict) saveTimer = setTimeout(save, AUTOSAVE_MS);
}

/** Edits word (si, wi) to `text`; empty text deletes the word. A corrected word counts as
 *  certain (probability 1), so F7/F8 no longer stop on it. */
function editWord(si, wi, text) {
  const old = T.segments[si].words[wi];
  const lead = (old.text.match(/^\s*/) || [""])[0];
  const t = text.trim();
  if (t === old.text.trim()) return;
  change(t ? "語の修正" : "語の削除", si, si + 1, ([seg]) => {
    if (t) {
      seg.words[wi].text = lead + t;
      seg.words[wi].probability = 1;
    } else {
      seg.words.splice(wi, 1);
    }
    return [seg];
  });
}

/** Splits a text into words: by spaces where the language uses them, else by
 *  Intl.Segmenter (the browser's dictionary word breaker for Japanese). */
function tokenize(text) {
  text = text.replace(/\s+/g, " ").trim();
  if (!text) return [];
  if (spaced) return text.split(" ").map((w, i) => (i === 0 ? w : " " + w));
  const seg = new Intl.Segmenter(T.language || "ja", { granularity: "word" });
  const out = [];
  for (const s of seg.segment(text)) {
    if (!s.segment.trim()) continue;
    // Punctuation and particles attach to the word before, as Whisper's tokens do.
    if (!s.isWordLike && out.length) out[out.length - 1] += s.segment.trim();
    else out.push(s.segment.trim());
  }
  return out;
}

/** Replaces a turn's text as a whole. The new words get times by their share of characters
 *  along the old words' characters, and stay in the segment those characters belonged to. */
function editTurn(turn, newText) {
  change("発言の書き換え", turn.start, turn.end, (segs) => {
    // The old character timeline: each visible character's segment and time.
    const chars = [];
    segs.forEach((seg, k) => {
      for (const w of seg.words) {
        const t = w.text.trim();
        const n = Math.max(1, [...t].length);
        for (let c = 0; c < n; c++) {
          chars.push({
            k,
            start: w.start + ((w.end - w.start) * c) / n,
            end: w.start + ((w.end - w.start) * (c + 1)) / n,
          });
        }
      }
    });
    const toks = tokenize(newText);
    const speaker = segs[0].speaker ?? null;
    for (const seg of segs) seg.words = [];
    if (!toks.length || !chars.length) return segs;
    const total = toks.reduce((n, t) => n + [...t.trim()].length, 0) || 1;
    let pos = 0;
    for (const tok of toks) {
      const len = [...tok.trim()].length;
      const a = Math.min(chars.length - 1, Math.floor((pos / total) * chars.length));
      const b = Math.min(chars.length - 1, Math.max(a, Math.ceil(((pos + len) / total) * chars.length) - 1));
      pos += len;
      const seg = segs[chars[a].k];
      const prev = seg.words[seg.words.length - 1];
      const start = Math.max(chars[a].start, prev ? prev.end : seg.start);
      let end = chars[b].k === chars[a].k ? chars[b].end : seg.end;
      end = Math.max(end, start);
      const w = { start, end, text: tok, probability: 1 };
      if (speaker !== null) w.speaker = speaker;
      seg.words.push(w);
    }
    // A segment's first word carries no leading space.
    for (const seg of segs) if (seg.words.length) seg.words[0].text = seg.words[0].text.replace(/^\s+/, spaced ? " " : "");
    return segs;
  });
}

/** Splits the turn at flat word `i`: from that word on, the turn's segments go to `speakerId`
 *  (a new speaker when null). */
function splitAt(i, speakerId) {
  const { si, wi } = flat[i];
  const turn = turnOfSegment(si);
  if (si === turn.start && wi === 0) return;
  change("発言の分割", turn.start, turn.end, (segs) => {
    const k = si - turn.start;
    const seg = segs[k];
    let rest = k + 1;
    if (wi > 0) {
      const tail = { ...clone(seg), words: seg.words.slice(wi) };
      seg.words = seg.words.slice(0, wi);
      seg.end = seg.words[seg.words.length - 1].end;
      tail.start = tail.words[0].start;
      tail.words[0].text = tail.words[0].text.replace(/^\s+/, spaced ? " " : "");
      segs.splice(k + 1, 0, tail);
      rest = k + 1;
    } else {
      rest = k;
    }
    const id = speakerId ?? newSpeaker();
    for (let j = rest; j < segs.length; j++) setSegmentSpeaker(segs[j], id);
    return segs;
  }, true);
}

function assignTurn(turn, speakerId) {
  change("話者の変更", turn.start, turn.end, (segs) => {
    const id = speakerId ?? newSpeaker();
    for (const s of segs) setSegmentSpeaker(s, id);
    return segs;
  }, true);
}

/** Merges a turn with the next one: the next turn's speech goes to this turn's speaker.
 *  Without diarization (no speakers) the two segments become one. */
function mergeWithNext(turn) {
  const all = turns();
  const idx = all.findIndex((t) => t.start === turn.start);
  const next = all[idx + 1];
  if (!next) return;
  change("発言の結合", turn.start, next.end, (segs) => {
    if (turn.speaker !== null) {
      for (const s of segs) setSegmentSpeaker(s, turn.speaker);
      return segs;
    }
    const [a, ...others] = segs;
    for (const b of others) {
      a.words.push(...b.words);
      a.end = Math.max(a.end, b.end);
    }
    if (next.speaker !== null) for (const w of a.words) w.speaker = next.speaker;
    a.speaker = next.speaker;
    return [a];
  }, true);
}

function renameSpeaker(id, name) {
  const i = T.speakers.findIndex((s) => s.id === id);
  if (i < 0) return;
  const v = name.trim() || null;
  if ((T.speakers[i].name ?? null) === v) return;
  change("話者名の変更", 0, 0, () => {
    T.speakers[i].name = v;
    return [];
  }, true);
}

/** Merges speaker `from` into `into`: every segment, word and turn of `from` goes to `into`. */
function mergeSpeakers(from, into) {
  if (from === into) return;
  change("話者の統合", 0, T.segments.length, (segs) => {
    for (const s of segs) {
      if (s.speaker === from) s.speaker = into;
      for (const w of s.words) if (w.speaker === from) w.speaker = into;
    }
    for (const t of T.turns) if (t.speaker === from) t.speaker = into;
    T.speakers = T.speakers.filter((s) => s.id !== from);
    return segs;
  }, true);
}

// ---- rendering ------------------------------------------------------------------------------

// Rendering is incremental because a 3-hour meeting has ~30 000 words: word spans are made
// once per segment object (edits replace the segments they touch with new objects, so
// untouched segments keep their spans), a turn whose segments are all unchanged keeps its
// element, and only the run of turns between the unchanged head and tail is swapped in the DOM.
const segSpans = new WeakMap(); // segment object → its words' spans
let turnEls = []; // the turn elements in the transcript, in order
const turnInfo = new WeakMap(); // turn element → {segs, textEl, sig}

function wordSpan(w) {
  const span = document.createElement("span");
  const p = w.probability ?? 1;
  span.className = p < LOW ? "w low" : "w";
  span.dataset.start = w.start.toFixed(2);
  span.dataset.end = w.end.toFixed(2);
  span.dataset.prob = p.toFixed(2);
  span.textContent = w.text.trim();
  return span;
}

function spansOf(seg) {
  let spans = segSpans.get(seg);
  if (!spans) {
    spans = seg.words.map(wordSpan);
    segSpans.set(seg, spans);
  }
  return spans;
}

function turnHeader(turn, ti, count, textEl) {
  const first = T.segments[turn.start];
  const spk = el(
    "button",
    {
      type: "button", class: "spk", title: "話者を変更 (assign to another speaker)",
      style: `color:${speakerColor(turn.speaker)}`,
      onclick: (e) => speakerMenu(e.currentTarget, turn),
    },
    speakerName(turn.speaker),
  );
  const role = turn.speaker && speakerById(turn.speaker)?.role;
  const acts = readOnly ? null : el(
    "div",
    { class: "acts" },
    el("button", { type: "button", class: "edit-turn", title: "発言全体を書き換える", onclick: () => openTurnEditor(turn, textEl) }, "書換"),
    ti + 1 < count
      ? el("button", { type: "button", class: "merge-next", title: "次の発言と結合する", onclick: () => mergeWithNext(turn) }, "結合")
      : null,
  );
  return el(
    "div",
    { class: "who" },
    spk,
    role ? el("small", {}, role) : null,
    el("span", { class: "time", title: "ここから再生", onclick: () => seek(first.start, true) }, fmtTime(first.start)),
    acts,
  );
}

function render() {
  if (current >= 0 && flat[current]) flat[current].el.classList.remove("cur");
  if (selected >= 0 && flat[selected]) flat[selected].el.classList.remove("sel");
  const selKey = selected >= 0 && flat[selected] ? [flat[selected].si, flat[selected].wi] : null;
  const all = turns();
  const next = [];
  const reuse = new Map(turnEls.map((e) => [turnInfo.get(e).segs[0], e]));
  flat = [];
  all.forEach((turn, ti) => {
    const segs = T.segments.slice(turn.start, turn.end);
    const first = segs[0];
    // Everything the header shows; the header is rebuilt when this changes.
    const sp = turn.speaker ? speakerById(turn.speaker) : null;
    const sig = [turn.speaker, sp?.name, sp?.label, sp?.role, speakerColor(turn.speaker), first.start, ti + 1 < all.length, turn.start].join("\u0001");
    let tEl = null;
    const old = reuse.get(first);
    if (old) {
      const info = turnInfo.get(old);
      if (info.segs.length === segs.length && info.segs.every((s, k) => s === segs[k])) tEl = old;
    }
    let info;
    if (tEl) {
      info = turnInfo.get(tEl);
      if (info.sig !== sig) {
        info.who.replaceWith((info.who = turnHeader(turn, ti, all.length, info.textEl)));
        info.sig = sig;
      }
      tEl.dataset.turn = ti;
    } else {
      const textEl = el("div", { class: "text", lang: T.language || "ja" });
      segs.forEach((seg, k) => {
        spansOf(seg).forEach((span, wi) => {
          const w = seg.words[wi];
          if (textEl.childNodes.length && (/^\s/.test(w.text) || (spaced && wi === 0))) textEl.append(" ");
          textEl.append(span);
        });
      });
      const who = turnHeader(turn, ti, all.length, textEl);
      tEl = el("div", { class: "turn", dataset: { turn: ti, speaker: turn.speaker ?? "" } }, who, textEl);
      info = { segs, textEl, who, sig };
      turnInfo.set(tEl, info);
    }
    next.push(tEl);
    segs.forEach((seg, k) => {
      const spans = spansOf(seg);
      seg.words.forEach((w, wi) => {
        const span = spans[wi];
        const i = flat.length;
        if (span.dataset.i !== String(i)) span.dataset.i = i;
        flat.push({ si: turn.start + k, wi, start: w.start, end: w.end, prob: w.probability ?? 1, el: span });
      });
    });
  });
  swapTurns(next);
  starts = Float64Array.from(flat, (w) => w.start);
  selected = -1;
  if (selKey) {
    const j = flat.findIndex((w) => w.si === selKey[0] && w.wi === selKey[1]);
    if (j >= 0) select(j, false);
  }
  current = -1;
  highlight();
  renderSpeakers();
  refreshFind();
  const lows = flat.filter((w) => w.prob < LOW).length;
  document.getElementById("low-count").textContent = `${lows} 語`;
  document.getElementById("btn-undo").disabled = readOnly || !undoStack.length;
  document.getElementById("btn-redo").disabled = readOnly || !redoStack.length;
}

/** Replaces the transcript's turn elements with `next`, touching only the changed middle run. */
function swapTurns(next) {
  if (!turnEls.length || !next.length) {
    box.replaceChildren(...next);
    if (!next.length) box.append(el("p", { class: "muted" }, "発言がありません。"));
    turnEls = next;
    return;
  }
  let head = 0;
  while (head < next.length && head < turnEls.length && next[head] === turnEls[head]) head++;
  let tail = 0;
  while (
    tail < next.length - head && tail < turnEls.length - head &&
    next[next.length - 1 - tail] === turnEls[turnEls.length - 1 - tail]
  ) tail++;
  const before = turnEls[turnEls.length - tail] || null; // first element of the unchanged tail
  for (const e of turnEls.slice(head, turnEls.length - tail)) e.remove();
  const frag = document.createDocumentFragment();
  frag.append(...next.slice(head, next.length - tail));
  box.insertBefore(frag, before);
  turnEls = next;
}

function renderSpeakers() {
  const list = document.getElementById("speakers");
  if (!T.speakers.length) {
    list.replaceChildren(el("p", { class: "muted" }, "話者の識別は行われていません。"));
    return;
  }
  const counts = new Map();
  for (const t of turns()) counts.set(t.speaker, (counts.get(t.speaker) || 0) + 1);
  list.replaceChildren(
    ...T.speakers.map((s) => {
      const name = el("input", {
        class: "speaker-name", value: s.name || "", placeholder: s.label,
        title: `${s.label} の名前 (rename everywhere)`, disabled: readOnly,
        dataset: { id: s.id },
      });
      name.addEventListener("change", () => renameSpeaker(s.id, name.value));
      name.addEventListener("keydown", (e) => {
        if (e.key === "Enter") name.blur();
      });
      const merge = el(
        "select",
        { class: "merge-into", title: "この話者を別の話者に統合する (merge into)", disabled: readOnly },
        el("option", { value: "" }, "統合…"),
        T.speakers.filter((o) => o.id !== s.id).map((o) => el("option", { value: o.id }, `→ ${o.name || o.label}`)),
      );
      merge.addEventListener("change", () => {
        if (!merge.value) return;
        const into = merge.value;
        if (confirm(`「${s.name || s.label}」の発言をすべて「${speakerName(into)}」にまとめます。`)) mergeSpeakers(s.id, into);
        else merge.value = "";
      });
      return el(
        "div",
        { class: "speaker-row", dataset: { id: s.id } },
        el("div", { class: "line" },
          el("span", { style: `color:${speakerColor(s.id)};font-weight:600;min-width:4.5rem` }, s.label),
          name),
        el("div", { class: "line" },
          el("span", { class: "muted", style: "font-size:0.8rem;flex:1" }, `${counts.get(s.id) || 0} 発言${s.role ? " ・ " + s.role : ""}`),
          merge,
          el("button", { type: "button", class: "enroll", title: "この話者の声を登録し、次回から名前を自動で付ける (enroll voiceprint)", disabled: readOnly, onclick: () => enroll(s) }, "声紋登録"),
        ),
      );
    }),
  );
}

// ---- selection, playback, highlight ---------------------------------------------------------

function select(i, scroll = true) {
  if (selected >= 0 && flat[selected]) flat[selected].el.classList.remove("sel");
  selected = i;
  if (i < 0 || !flat[i]) return;
  flat[i].el.classList.add("sel");
  if (scroll) flat[i].el.scrollIntoView({ block: "center" });
}

function seek(t, play = false) {
  if (!isFinite(t)) return;
  audio.currentTime = Math.max(0, t);
  follow = true;
  document.getElementById("btn-follow").classList.add("hidden");
  if (play && audio.paused) audio.play().catch(() => {});
  highlight();
}

function togglePlay() {
  if (audio.paused) audio.play().catch(() => {});
  else audio.pause();
}

function skip(d) {
  seek(Math.min(audio.duration || Infinity, Math.max(0, audio.currentTime + d)));
}

function setRate(r) {
  r = Math.round(Math.min(2, Math.max(0.5, r)) * 100) / 100;
  audio.playbackRate = r;
  const sel = document.getElementById("rate");
  if (![...sel.options].some((o) => Number(o.value) === r)) sel.append(el("option", { value: String(r) }, `${r}×`));
  sel.value = String([...sel.options].find((o) => Number(o.value) === r).value);
}

/** Index of the last word starting at or before t (binary search), -1 before the first. */
function wordAt(t) {
  let lo = 0;
  let hi = starts.length - 1;
  let ans = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (starts[mid] <= t + 1e-3) {
      ans = mid;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  return ans;
}

function highlight() {
  const t = audio.currentTime || 0;
  document.getElementById("clock").textContent = `${fmtTime(t)} / ${fmtTime(audio.duration)}`;
  const i = wordAt(t);
  if (i === current) return;
  if (current >= 0 && flat[current]) flat[current].el.classList.remove("cur");
  current = i;
  if (i < 0 || !flat[i]) return;
  const e = flat[i].el;
  e.classList.add("cur");
  if (follow && !editing) {
    const r = e.getBoundingClientRect();
    const b = box.getBoundingClientRect();
    if (r.top < b.top + 40 || r.bottom > b.bottom - 40) {
      box.scrollTop += r.top - b.top - b.height / 3;
    }
  }
}

function loop() {
  highlight();
  if (!audio.paused) requestAnimationFrame(loop);
}

function nextLow(dir) {
  if (!flat.length) return;
  let from = selected >= 0 ? selected : current;
  if (from < 0) from = dir > 0 ? -1 : flat.length;
  for (let i = from + dir; i >= 0 && i < flat.length; i += dir) {
    if (flat[i].prob < LOW) {
      select(i);
      seek(flat[i].start);
      return;
    }
  }
}

// ---- inline editing -------------------------------------------------------------------------

function startWordEdit(i) {
  if (readOnly || !flat[i] || editing) return;
  const { si, wi, el: span } = flat[i];
  select(i, false);
  editing = { span, si, wi, original: span.textContent };
  span.contentEditable = "true";
  span.spellcheck = false;
  span.focus();
  const range = document.createRange();
  range.selectNodeContents(span);
  const s = getSelection();
  s.removeAllRanges();
  s.addRange(range);
  const finish = (commit) => {
    if (!editing || editing.span !== span) return;
    const ed = editing;
    editing = null;
    span.contentEditable = "false";
    span.removeEventListener("keydown", onKey);
    span.removeEventListener("blur", onBlur);
    if (commit && span.textContent.trim() !== ed.original.trim()) editWord(ed.si, ed.wi, span.textContent);
    else span.textContent = ed.original;
  };
  const onKey = (e) => {
    if (e.key === "Enter") {
      e.preventDefault();
      e.stopPropagation();
      finish(true);
    } else if (e.key === "Escape") {
      e.preventDefault();
      e.stopPropagation();
      finish(false);
    }
  };
  const onBlur = () => finish(true);
  span.addEventListener("keydown", onKey);
  span.addEventListener("blur", onBlur);
}

function openTurnEditor(turn, textEl) {
  if (readOnly) return;
  const segs = T.segments.slice(turn.start, turn.end);
  const full = segs.map((s) => segText(s.words)).join(spaced ? " " : "");
  const area = el("textarea", { class: "turn-text", lang: T.language || "ja" });
  area.value = full;
  const ok = el("button", { type: "button", class: "primary turn-ok" }, "反映");
  const cancel = el("button", { type: "button" }, "取消");
  const wrap = el("div", {}, area, el("div", { class: "row", style: "margin-top:0.3rem" }, ok, cancel,
    el("small", {}, "語の時刻は文字数に応じて配分されます (times spread by characters)")));
  textEl.replaceWith(wrap);
  area.focus();
  // The turn's element is kept when nothing changes, so put its text back by hand.
  const back = () => wrap.replaceWith(textEl);
  ok.onclick = () => {
    if (area.value.trim() === full.trim()) back();
    else editTurn(turn, area.value);
  };
  cancel.onclick = back;
  area.addEventListener("keydown", (e) => {
    if (e.key === "Escape") {
      e.stopPropagation();
      back();
    } else if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) {
      e.preventDefault();
      ok.click();
    }
  });
}

// ---- menus ----------------------------------------------------------------------------------

let openMenu = null;

function closeMenu() {
  openMenu?.remove();
  openMenu = null;
}

function showMenu(anchor, title, items) {
  closeMenu();
  const r = anchor.getBoundingClientRect();
  const m = el(
    "div",
    { class: "menu", role: "menu", style: `left:${r.left + scrollX}px;top:${r.bottom + scrollY + 4}px` },
    el("div", { class: "title" }, title),
    items.map(([label, fn]) =>
      el("button", { type: "button", role: "menuitem", onclick: () => { closeMenu(); fn(); } }, label)),
  );
  document.body.append(m);
  openMenu = m;
  m.querySelector("button")?.focus();
}

function speakerMenu(anchor, turn) {
  if (readOnly) return;
  const items = T.speakers
    .filter((s) => s.id !== turn.speaker)
    .map((s) => [`${s.name || s.label}${s.name ? `（${s.label}）` : ""}`, () => assignTurn(turn, s.id)]);
  items.push(["＋ 新しい話者", () => assignTurn(turn, null)]);
  showMenu(anchor, "この発言の話者を変更", items);
}

function splitMenu() {
  if (readOnly) return;
  if (selected < 0) {
    alert("分割する位置の語をクリックして選んでください。");
    return;
  }
  const { si, wi, el: anchor } = flat[selected];
  const turn = turnOfSegment(si);
  if (si === turn.start && wi === 0) {
    alert("発言の先頭では分割できません。");
    return;
  }
  const i = selected;
  const items = T.speakers
    .filter((s) => s.id !== turn.speaker)
    .map((s) => [`${s.name || s.label}`, () => splitAt(i, s.id)]);
  items.unshift(["＋ 新しい話者", () => splitAt(i, null)]);
  showMenu(anchor, "ここから後の話者", items);
}

document.addEventListener("mousedown", (e) => {
  if (openMenu && !openMenu.contains(e.target)) closeMenu();
});

// ---- saving ---------------------------------------------------------------------------------

function setStatus(state) {
  const s = document.getElementById("save-status");
  state = state || (saving ? "saving" : conflict ? "error" : dirty ? "dirty" : "saved");
  s.dataset.state = state;
  s.textContent = {
    saved: `保存済み（第${baseVersion}版）`,
    dirty: "未保存",
    saving: "保存中…",
    error: conflict ? "競合あり" : "保存できません",
  }[state];
}

function keepDraft() {
  try {
    localStorage.setItem(draftKey, JSON.stringify({ base_version: baseVersion, transcript: T, at: new Date().toISOString() }));
  } catch (e) {
    // Quota exceeded on a very long transcript: the copy in memory is still saved by autosave.
    console.warn("draft not kept in localStorage", e);
  }
}

async function save(note) {
  clearTimeout(saveTimer);
  if (readOnly || saving || !dirty) return;
  saving = true;
  setStatus();
  const gen = changeGen;
  const labels = [...pending];
  try {
    const r = await api("PUT", `/api/meetings/${meetingId}/transcript`, {
      base_version: baseVersion,
      transcript: T,
      note: typeof note === "string" ? note : labels.join("、") || "校正",
    });
    baseVersion = r.version;
    for (const l of labels) pending.delete(l);
    if (gen === changeGen) {
      dirty = false;
      clearTimeout(draftTimer);
      localStorage.removeItem(draftKey);
    } else keepDraft();
    saving = false;
    setStatus();
    if (dirty) saveTimer = setTimeout(save, AUTOSAVE_MS);
  } catch (e) {
    saving = false;
    if (e instanceof ApiError && e.status === 409) {
      conflict = true;
      showConflict(e);
    } else {
      banner("error", `保存できませんでした: ${e.message}`, [["再試行", () => save()]], "save-error");
      // Network trouble: try again later; a 4xx other than 409 needs the user.
      if (!(e instanceof ApiError) || e.status === 0 || e.status >= 500) saveTimer = setTimeout(save, 10000);
    }
    setStatus("error");
  }
}

function banner(kind, text, actions = [], id = null) {
  if (id) document.getElementById(id)?.remove();
  const b = el(
    "div",
    { class: `banner ${kind === "error" ? "error" : "notice"}`, id, role: "alert" },
    el("span", { class: "grow" }, text),
    actions.map(([label, fn]) =>
      el("button", { type: "button", onclick: () => { b.remove(); fn(); } }, label)),
  );
  banners.append(b);
  return b;
}

function showConflict(e) {
  const latest = e.body && e.body.latest_version;
  banner(
    "error",
    `この記録は他の人が変更しました（${e.message}）。あなたの編集はこの端末に残っています。`,
    [
      ["最新版を読み込む", () => {
        // The local copy stays in localStorage; the reloaded page offers it back.
        keepDraft();
        leaving = true;
        location.reload();
      }],
      ["自分の版で上書き保存", () => {
        if (latest !== undefined && latest !== null) baseVersion = latest;
        conflict = false;
        dirty = true;
        save("競合を自分の版で解決");
      }],
    ],
    "conflict-banner",
  );
}

// ---- speakers: enroll -----------------------------------------------------------------------

async function enroll(s) {
  const name = prompt(`「${s.name || s.label}」の声を登録します。氏名:`, s.name || "");
  if (name === null || !name.trim()) return;
  const role = prompt("役職（議長・委員など、空欄可）:", s.role || "") ?? "";
  try {
    if (dirty) await save();
    const r = await api("POST", `/api/meetings/${meetingId}/speakers/${encodeURIComponent(s.id)}/enroll`, {
      name: name.trim(),
      role: role.trim() || null,
    });
    banner("notice", `「${r.name}」の声紋を登録しました（${Math.round(r.seconds)} 秒分）。次回の文字起こしから自動で名前が付きます。`, [["閉じる", () => {}]]);
    if (!s.name) renameSpeaker(s.id, r.name);
  } catch (e) {
    banner("error", `声紋を登録できませんでした: ${e.message}`, [["閉じる", () => {}]]);
  }
}

// ---- history --------------------------------------------------------------------------------

const ORIGINS = { machine: "自動認識", revision: "校正", "minutes-text": "会議録本文" };

async function openHistory() {
  const dlg = document.getElementById("history");
  const tbody = document.querySelector("#versions tbody");
  tbody.replaceChildren(el("tr", {}, el("td", { colspan: 6 }, "読み込み中…")));
  document.getElementById("diff").replaceChildren();
  if (!dlg.open) dlg.showModal();
  try {
    const vs = await api("GET", `/api/meetings/${meetingId}/versions`);
    vs.sort((a, b) => b.version - a.version);
    tbody.replaceChildren(
      ...vs.map((v) =>
        el(
          "tr",
          { dataset: { version: v.version } },
          el("td", {}, `第${v.version}版`),
          el("td", {}, ORIGINS[v.origin] || v.origin),
          el("td", {}, v.author || ""),
          el("td", { style: "white-space:nowrap" }, fmtDate(v.created_at)),
          el("td", {}, v.note || ""),
          el(
            "td",
            { style: "white-space:nowrap" },
            v.version > Math.min(...vs.map((x) => x.version))
              ? el("button", { type: "button", onclick: () => showDiff(prevVersion(vs, v.version), v.version) }, "差分")
              : null,
            " ",
            el("a", { class: "button", href: `/meetings/${meetingId}?v=${v.version}`, target: "_blank" }, "表示"),
            " ",
            readOnly || v.version === baseVersion ? null
              : el("button", { type: "button", class: "restore", onclick: () => restore(v.version) }, "この版に戻す"),
          ),
        ),
      ),
    );
    const opts = () => vs.map((v) => el("option", { value: v.version }, `第${v.version}版（${ORIGINS[v.origin] || v.origin}）`));
    const from = document.getElementById("diff-from");
    const to = document.getElementById("diff-to");
    from.replaceChildren(...opts());
    to.replaceChildren(...opts());
    if (vs.length) {
      to.value = String(vs[0].version);
      from.value = String(vs[vs.length - 1].version);
    }
  } catch (e) {
    tbody.replaceChildren(el("tr", {}, el("td", { colspan: 6, class: "error" }, e.message)));
  }
}

function prevVersion(vs, n) {
  return Math.max(...vs.filter((v) => v.version < n).map((v) => v.version));
}

async function showDiff(from, to) {
  const out = document.getElementById("diff");
  document.getElementById("diff-from").value = String(from);
  document.getElementById("diff-to").value = String(to);
  out.replaceChildren(el("p", { class: "muted" }, "読み込み中…"));
  try {
    const d = await api("GET", `/api/meetings/${meetingId}/diff?from=${from}&to=${to}`);
    const renamed = (d.renamed || []).map((r) =>
      el("div", { class: "change" }, "話者名: ", el("del", {}, r.from || r.id), " → ", el("ins", {}, r.to || r.id)));
    if (!d.changes.length && !renamed.length) {
      out.replaceChildren(el("p", { class: "muted" }, `第${from}版と第${to}版に違いはありません。`));
      return;
    }
    const nm = (id) => (id ? speakerName(id) : "");
    // Ops are word runs; languages written with spaces need them back between runs.
    const gap = spaced ? " " : "";
    out.replaceChildren(
      el("p", { class: "muted" }, `第${from}版 → 第${to}版：${d.changes.length + renamed.length} か所`),
      ...renamed,
      ...d.changes.map((c) => {
        const who = c.speaker_from === c.speaker_to ? nm(c.speaker_to) : `${nm(c.speaker_from) || "–"} → ${nm(c.speaker_to) || "–"}`;
        const parts = [];
        c.ops.forEach((op, k) => {
          if (k) parts.push(gap);
          parts.push(op.op === "delete" ? el("del", {}, op.text) : op.op === "insert" ? el("ins", {}, op.text) : op.text);
        });
        return el(
          "div",
          { class: "change" },
          el("a", { href: "#", onclick: (e) => { e.preventDefault(); if (c.start !== null) seek(c.start); } },
            fmtTime(c.start)),
          " ",
          who ? el("strong", {}, who + " ") : null,
          parts,
        );
      }),
    );
  } catch (e) {
    out.replaceChildren(el("p", { class: "error" }, e.message));
  }
}

/** Saves version n's transcript as the newest version (an ordinary, undoable edit). */
async function restore(n) {
  if (!confirm(`第${n}版の内容を新しい版として保存します。`)) return;
  try {
    const r = await api("GET", `/api/meetings/${meetingId}/transcript?version=${n}`);
    change(`第${n}版に戻す`, 0, T.segments.length, () => {
      T.speakers = r.transcript.speakers;
      T.turns = r.transcript.turns;
      return clone(r.transcript.segments);
    }, true);
    await save(`第${n}版に戻す`);
    openHistory();
  } catch (e) {
    banner("error", `戻せませんでした: ${e.message}`, [["閉じる", () => {}]]);
  }
}

// ---- minutes downloads ----------------------------------------------------------------------

function minutesLinks() {
  const redact = document.getElementById("redact").checked;
  const q = new URLSearchParams();
  if (viewVersion !== null) q.set("version", viewVersion);
  if (redact) q.set("redact", "1");
  const qs = q.toString() ? `?${q}` : "";
  document.getElementById("dl-docx").href = `/api/meetings/${meetingId}/minutes.docx${qs}`;
  document.getElementById("dl-md").href = `/api/meetings/${meetingId}/minutes.md${qs}`;
}

async function beforeDownload(e) {
  // The minutes are drafted from the saved version: save pending edits first.
  if (!dirty || readOnly) return;
  e.preventDefault();
  const href = e.currentTarget.href;
  await save();
  if (!dirty) location.href = href;
}

// ---- find and replace -----------------------------------------------------------------------
// A clerk corrects a name the recogniser got wrong everywhere at once. Matches are looked for
// in each segment's joined word text, so a phrase the recogniser split into several words is
// found too; case is ignored. A replacement re-times the words it covers by characters inside
// the span of the words it replaces, like a turn rewrite.

let findOpen = false;
let hits = []; // {si, from, to}: character offsets in the segment's joined word text
let hitAt = -1;
let marked = []; // spans carrying the .found classes

function joined(seg) {
  const offs = [];
  let text = "";
  for (const w of seg.words) {
    offs.push(text.length);
    text += w.text;
  }
  return { text, offs };
}

function findHits(q) {
  const out = [];
  if (!q) return out;
  const lq = q.toLowerCase();
  T.segments.forEach((seg, si) => {
    const { text } = joined(seg);
    // toLowerCase can change a string's length (e.g. İ); then only exact matches are safe.
    const low = text.toLowerCase();
    const [hay, needle] = low.length === text.length && lq.length === q.length ? [low, lq] : [text, q];
    for (let i = hay.indexOf(needle); i >= 0; i = hay.indexOf(needle, i + needle.length)) {
      out.push({ si, from: i, to: i + needle.length });
    }
  });
  return out;
}

/** The word index holding character `c` of a segment's joined text. */
function wordAtChar(offs, c) {
  let k = 0;
  while (k + 1 < offs.length && offs[k + 1] <= c) k++;
  return k;
}

/** Replaces the hits (all in `seg`) by `rep`, last first so earlier offsets stay valid. */
function replaceInSegment(seg, segHits, rep) {
  for (const h of [...segHits].sort((x, y) => y.from - x.from)) {
    const { offs } = joined(seg);
    const wa = wordAtChar(offs, h.from);
    const wb = wordAtChar(offs, h.to - 1);
    const first = seg.words[wa];
    const last = seg.words[wb];
    const text = first.text.slice(0, h.from - offs[wa]) + rep + last.text.slice(h.to - offs[wb]);
    const toks = tokenize(text);
    if (toks.length && /^\s/.test(text) && !/^\s/.test(toks[0])) toks[0] = " " + toks[0];
    const total = toks.reduce((n, t) => n + [...t.trim()].length, 0) || 1;
    const span = last.end - first.start;
    let pos = 0;
    const words = toks.map((tok) => {
      const len = [...tok.trim()].length;
      const w = {
        start: first.start + (span * pos) / total,
        end: first.start + (span * (pos + len)) / total,
        text: tok,
        probability: 1,
      };
      pos += len;
      if (first.speaker !== undefined) w.speaker = first.speaker;
      return w;
    });
    seg.words.splice(wa, wb - wa + 1, ...words);
  }
  if (seg.words.length) seg.words[0].text = seg.words[0].text.replace(/^\s+/, spaced ? " " : "");
  return seg;
}

function markHits() {
  for (const span of marked) span.classList.remove("found", "found-cur");
  marked = [];
  if (!findOpen || !hits.length) return;
  // The flat index of each segment's first word.
  const firstOf = new Map();
  flat.forEach((w, i) => {
    if (!firstOf.has(w.si)) firstOf.set(w.si, i);
  });
  hits.forEach((h, n) => {
    const seg = T.segments[h.si];
    const base = firstOf.get(h.si);
    if (!seg || base === undefined) return;
    const { offs } = joined(seg);
    for (let wi = wordAtChar(offs, h.from); wi <= wordAtChar(offs, h.to - 1); wi++) {
      const span = flat[base + wi]?.el;
      if (!span) continue;
      span.classList.add("found");
      if (n === hitAt) span.classList.add("found-cur");
      marked.push(span);
    }
  });
}

function showFindCount() {
  const q = document.getElementById("find-q").value.trim();
  document.getElementById("find-count").textContent = !q
    ? ""
    : hits.length
      ? hitAt < 0 ? `${hits.length} 件` : `${hitAt + 1} / ${hits.length} 件`
      : "見つかりません";
}

/** Recomputes the hits after a change; `keep` is the position to stay at or after. */
function refreshFind(keep = null) {
  if (!findOpen) return;
  hits = findHits(document.getElementById("find-q").value.trim());
  if (!hits.length) hitAt = -1;
  else if (keep) {
    const j = hits.findIndex((h) => h.si > keep.si || (h.si === keep.si && h.from >= keep.from));
    hitAt = j >= 0 ? j : 0;
  } else hitAt = Math.min(hitAt, hits.length - 1);
  markHits();
  showFindCount();
}

function goHit(dir) {
  refreshFind();
  if (!hits.length) return;
  // Before the first Enter no match is current: ▼ goes to the first, ▲ to the last.
  if (hitAt < 0) hitAt = dir < 0 ? hits.length - 1 : 0;
  else hitAt = (hitAt + dir + hits.length) % hits.length;
  markHits();
  showFindCount();
  const h = hits[hitAt];
  const i = flat.findIndex((w) => w.si === h.si && w.wi === wordAtChar(joined(T.segments[h.si]).offs, h.from));
  if (i >= 0) {
    select(i);
    seek(flat[i].start);
  }
}

function replaceOne() {
  refreshFind();
  const h = hits[hitAt];
  if (!h || readOnly) return;
  const rep = document.getElementById("find-r").value;
  const after = { si: h.si, from: h.from + rep.length };
  change("置換", h.si, h.si + 1, ([seg]) => [replaceInSegment(seg, [h], rep)]);
  refreshFind(after);
  goHit(0);
}

function replaceAll() {
  refreshFind();
  if (!hits.length || readOnly) return;
  const q = document.getElementById("find-q").value.trim();
  const rep = document.getElementById("find-r").value;
  const n = hits.length;
  const a = hits[0].si;
  const b = hits[hits.length - 1].si + 1;
  const bySeg = new Map();
  for (const h of hits) bySeg.set(h.si, [...(bySeg.get(h.si) || []), h]);
  // One change, so one Ctrl+Z undoes the whole replacement.
  change(`すべて置換「${q}」→「${rep}」(${n}件)`, a, b, (segs) =>
    segs.map((seg, k) => (bySeg.has(a + k) ? replaceInSegment(seg, bySeg.get(a + k), rep) : seg)),
  );
  refreshFind();
  document.getElementById("find-count").textContent = `${n} 件を置換しました`;
}

function openFind(focusReplace) {
  findOpen = true;
  const bar = document.getElementById("findbar");
  bar.classList.remove("hidden");
  for (const id of ["find-r", "find-replace", "find-all"]) document.getElementById(id).disabled = readOnly;
  const q = document.getElementById("find-q");
  // Opening on a selected word searches for it, as word processors do.
  if (!q.value && selected >= 0 && flat[selected]) q.value = flat[selected].el.textContent;
  refreshFind();
  const f = document.getElementById(focusReplace && !readOnly ? "find-r" : "find-q");
  f.focus();
  f.select();
}

function closeFind() {
  findOpen = false;
  document.getElementById("findbar").classList.add("hidden");
  hits = [];
  hitAt = -1;
  markHits();
  box.focus();
}

function wireFind() {
  const q = document.getElementById("find-q");
  q.addEventListener("input", () => {
    hitAt = -1;
    refreshFind();
  });
  q.addEventListener("keydown", (e) => {
    if (e.key === "Enter") {
      e.preventDefault();
      goHit(e.shiftKey ? -1 : 1);
    }
  });
  document.getElementById("find-r").addEventListener("keydown", (e) => {
    if (e.key === "Enter") {
      e.preventDefault();
      replaceOne();
    }
  });
  document.getElementById("findbar").addEventListener("keydown", (e) => {
    if (e.key === "Escape") {
      e.preventDefault();
      e.stopPropagation();
      closeFind();
    }
  });
  document.getElementById("find-prev").onclick = () => goHit(-1);
  document.getElementById("find-next").onclick = () => goHit(1);
  document.getElementById("find-replace").onclick = replaceOne;
  document.getElementById("find-all").onclick = replaceAll;
  document.getElementById("find-close").onclick = closeFind;
  document.getElementById("btn-find").onclick = () => openFind(false);
}

// ---- keyboard -------------------------------------------------------------------------------

function typing(t) {
  return t && (t.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(t.tagName));
}

document.addEventListener("keydown", (e) => {
  if (!T) return;
  const inField = typing(e.target);
  const ctrl = e.ctrlKey || e.metaKey;
  const k = e.key;
  let handled = true;
  // F-keys and modifier shortcuts work everywhere; plain keys only outside text fields.
  // Ctrl+Z and Ctrl+←/→ inside a text field keep their native meaning there.
  if ((k === "Escape" && !inField && !openMenu) || (ctrl && (k === " " || e.code === "Space"))) togglePlay();
  else if (k === "Escape" && openMenu) closeMenu();
  else if (k === "F1" || (ctrl && k === "ArrowLeft" && !inField)) skip(-SKIP_S);
  else if (k === "F2" || (ctrl && k === "ArrowRight" && !inField)) skip(SKIP_S);
  else if (k === "F3") setRate(audio.playbackRate - 0.1);
  else if (k === "F4") setRate(audio.playbackRate + 0.1);
  else if (k === "F8" || (e.altKey && k === "ArrowDown")) nextLow(1);
  else if (k === "F7" || (e.altKey && k === "ArrowUp")) nextLow(-1);
  else if (ctrl && (k === "s" || k === "S")) save();
  else if (ctrl && (k === "f" || k === "F")) openFind(false);
  else if (ctrl && (k === "h" || k === "H")) openFind(true);
  else if (ctrl && !inField && (k === "z" || k === "Z") && e.shiftKey) redo();
  else if (ctrl && !inField && (k === "z" || k === "Z")) undo();
  else if (ctrl && !inField && (k === "y" || k === "Y")) redo();
  else if (k === "Enter" && !inField && selected >= 0) startWordEdit(selected);
  else handled = false;
  if (handled) e.preventDefault();
});

// ---- loading --------------------------------------------------------------------------------

async function load() {
  await loadMe();
  header("archive");
  meeting = await api("GET", `/api/meetings/${meetingId}`);
  document.title = `${meeting.title || "会議"} — 校正 — gijiroku`;
  document.getElementById("m-title").textContent = meeting.title || `会議 ${meeting.id}`;
  document.getElementById("m-meta").textContent = [
    meeting.date, KINDS[meeting.kind] || meeting.kind, meeting.body, meeting.place,
  ].filter(Boolean).join(" ・ ");
  if (meeting.has_audio) audio.src = `/api/meetings/${meetingId}/audio`;
  else {
    audio.classList.add("hidden");
    document.getElementById("no-audio").classList.remove("hidden");
  }

  if (meeting.origin === "minutes-text") return showMinutesText();

  const q = viewVersion !== null ? `?version=${viewVersion}` : "";
  const r = await api("GET", `/api/meetings/${meetingId}/transcript${q}`);
  T = r.transcript;
  baseVersion = r.version;
  spaced = !["ja", "zh", "th", "lo", "km", "my"].includes(T.language);
  T.speakers = T.speakers || [];
  T.turns = T.turns || [];
  // A segment without word times is shown (and edited) as one word spanning it.
  for (const s of T.segments) {
    if ((!s.words || !s.words.length) && s.text && s.text.trim()) {
      s.words = [{ start: s.start, end: s.end, text: s.text, probability: 1, speaker: s.speaker ?? null }];
    }
    s.words = s.words || [];
  }

  if (viewVersion !== null || meeting.may_edit === false) {
    readOnly = true;
    document.body.classList.add("read-only");
    if (viewVersion !== null) {
      banner("notice", `第${baseVersion}版を表示しています（読み取り専用）。`, [["最新版を開く", () => (location.href = `/meetings/${meetingId}`)]]);
    } else {
      banner("notice", "この会議は閲覧のみできます（編集の権限がありません）。");
    }
    for (const id of ["btn-edit-word", "btn-split", "btn-undo", "btn-redo", "btn-save"]) document.getElementById(id).disabled = true;
  } else {
    offerDraft();
  }
  render();
  setStatus();
  minutesLinks();
  if (startAt !== null && isFinite(startAt)) {
    const go = () => {
      seek(startAt);
      // The word under that moment, or the first one after it when it falls in a pause.
      let i = wordAt(startAt + 0.05);
      if ((i < 0 || flat[i].end <= startAt) && i + 1 < flat.length) i += 1;
      if (i >= 0) select(i);
    };
    if (audio.readyState >= 1 || !meeting.has_audio) go();
    else audio.addEventListener("loadedmetadata", go, { once: true });
  }
}

/** A meeting imported from past minutes text has turns but no transcript and no recording:
 *  it is shown read-only as the minutes read (○speaker　text), with the turn a search hit
 *  named (`?turn=N`) scrolled to and marked, and the imported text as a download. */
async function showMinutesText() {
  readOnly = true;
  document.body.classList.add("read-only", "minutes-text");
  document.title = `${meeting.title || "会議"} — 会議録 — gijiroku`;
  for (const id of ["toolbar", "speakers-panel", "minutes-panel", "history-panel", "keys-panel"]) {
    document.getElementById(id)?.classList.add("hidden");
  }
  document.getElementById("no-audio").classList.add("hidden");
  document.getElementById("source-panel").classList.remove("hidden");
  document.getElementById("dl-source").href = `/api/meetings/${meetingId}/source`;
  banner("notice", "過去の会議録（本文から取り込み）です。録音はなく、閲覧のみできます。");
  const r = await api("GET", `/api/meetings/${meetingId}/turns`);
  const terms = searchTerms(searched);
  let target = null;
  box.replaceChildren(
    ...r.turns.map((t) => {
      const row = el(
        "div",
        { class: "turn", id: `turn-${t.seq}`, dataset: { seq: t.seq } },
        el("div", { class: "who" },
          el("span", { class: "spk" }, `○${t.speaker}`),
          t.role ? el("small", {}, t.role) : null),
        el("div", { class: "text" }, ...t.text.split("\n").flatMap((line, i) => (i ? [el("br"), ...withMarks(line, terms)] : withMarks(line, terms)))),
      );
      if (t.seq === startTurn) {
        row.classList.add("hit-turn");
        target = row;
      }
      return row;
    }),
  );
  if (!r.turns.length) box.replaceChildren(el("p", { class: "muted" }, "発言がありません。"));
  if (target) target.scrollIntoView({ block: "center" });
}

/** The words and phrases of the search that led here (operators and brackets dropped), to
 *  mark where they occur; a plain substring match, as a reader scanning the minutes expects. */
function searchTerms(q) {
  const out = [];
  for (const m of q.matchAll(/"([^"]+)"|([^\s"()]+)/g)) {
    let t = (m[1] ?? m[2]).replace(/^[+-]/, "");
    if (!m[1] && ["AND", "OR", "NOT", "&&", "||"].includes(t)) continue;
    if (t) out.push(t.toLowerCase());
  }
  return out;
}

/** `line` as text nodes with <mark> around each occurrence of a term. */
function withMarks(line, terms) {
  if (!terms.length) return [line];
  const low = line.toLowerCase();
  const out = [];
  let at = 0;
  while (at < line.length) {
    let best = -1;
    let len = 0;
    for (const t of terms) {
      const k = low.indexOf(t, at);
      if (k >= 0 && (best < 0 || k < best || (k === best && t.length > len))) {
        best = k;
        len = t.length;
      }
    }
    if (best < 0) break;
    if (best > at) out.push(line.slice(at, best));
    out.push(el("mark", {}, line.slice(best, best + len)));
    at = best + len;
  }
  if (at < line.length) out.push(line.slice(at));
  return out;
}

/** A local copy from an earlier visit that never reached the server: offer it back. */
function offerDraft() {
  let d = null;
  try {
    d = JSON.parse(localStorage.getItem(draftKey) || "null");
  } catch (e) {
    d = null;
  }
  if (!d || !d.transcript) return;
  const note = d.base_version === baseVersion
    ? `保存されていない編集が残っています（${d.at}）。`
    : `保存されていない編集が残っています（第${d.base_version}版をもとに編集、現在は第${baseVersion}版）。`;
  banner("notice", note, [
    ["編集を復元する", () => {
      const latest = baseVersion;
      change("未保存の編集を復元", 0, T.segments.length, () => {
        T.speakers = d.transcript.speakers || [];
        T.turns = d.transcript.turns || [];
        return d.transcript.segments;
      }, true);
      // Restoring is choosing "keep mine": it is saved over whatever is newest.
      baseVersion = latest;
      save("未保存の編集を復元");
    }],
    ["破棄する", () => localStorage.removeItem(draftKey)],
  ], "draft-banner");
}

function wire() {
  box.addEventListener("click", (e) => {
    const w = e.target.closest(".w");
    if (!w || w.isContentEditable) return;
    const i = Number(w.dataset.i);
    select(i, false);
    seek(flat[i].start);
  });
  box.addEventListener("dblclick", (e) => {
    const w = e.target.closest(".w");
    if (w) startWordEdit(Number(w.dataset.i));
  });
  // The user scrolling the transcript stops it following playback until a word is clicked.
  const away = () => {
    if (!audio.paused) {
      follow = false;
      document.getElementById("btn-follow").classList.remove("hidden");
    }
  };
  box.addEventListener("wheel", away, { passive: true });
  box.addEventListener("touchmove", away, { passive: true });
  box.addEventListener("mousedown", (e) => {
    if (e.target === box) away();
  });
  document.getElementById("btn-follow").onclick = () => {
    follow = true;
    document.getElementById("btn-follow").classList.add("hidden");
    current = -1;
    highlight();
  };
  audio.addEventListener("play", () => {
    document.getElementById("btn-play").textContent = "⏸ 停止";
    requestAnimationFrame(loop);
  });
  audio.addEventListener("pause", () => {
    document.getElementById("btn-play").textContent = "▶ 再生";
    highlight();
  });
  audio.addEventListener("seeked", highlight);
  audio.addEventListener("timeupdate", highlight);
  audio.addEventListener("loadedmetadata", highlight);
  document.getElementById("btn-play").onclick = togglePlay;
  document.getElementById("btn-back").onclick = () => skip(-SKIP_S);
  document.getElementById("btn-fwd").onclick = () => skip(SKIP_S);
  document.getElementById("rate").onchange = (e) => setRate(Number(e.target.value));
  document.getElementById("btn-prev-low").onclick = () => nextLow(-1);
  document.getElementById("btn-next-low").onclick = () => nextLow(1);
  document.getElementById("btn-edit-word").onclick = () => (selected >= 0 ? startWordEdit(selected) : alert("編集する語をクリックして選んでください。"));
  document.getElementById("btn-split").onclick = splitMenu;
  document.getElementById("btn-undo").onclick = undo;
  document.getElementById("btn-redo").onclick = redo;
  document.getElementById("btn-save").onclick = () => save();
  document.getElementById("btn-history").onclick = openHistory;
  document.getElementById("history-close").onclick = () => document.getElementById("history").close();
  document.getElementById("diff-show").onclick = () =>
    showDiff(Number(document.getElementById("diff-from").value), Number(document.getElementById("diff-to").value));
  document.getElementById("redact").onchange = minutesLinks;
  document.getElementById("dl-docx").addEventListener("click", beforeDownload);
  document.getElementById("dl-md").addEventListener("click", beforeDownload);
  window.addEventListener("beforeunload", (e) => {
    if (dirty && !readOnly && !leaving) {
      keepDraft();
      e.preventDefault();
      e.returnValue = "";
    }
  });
}

wire();
wireFind();
load().catch((e) => {
  box.replaceChildren(el("p", { class: "error" }, e.message));
});
