// A contract's text as located paragraphs: each with its section heading, paragraph number and (PDF) page.

export interface Block {
  text: string;
  /** The nearest heading above it, as written ("4. Model versions"); null before the first heading. */
  heading: string | null;
  /** 1-based paragraph number in the whole document (headings are not counted). */
  paragraph: number;
  /** 1-based page, for PDFs. */
  page: number | null;
}

/** Where a passage is, as a reader would look for it: `section "4. Model versions", paragraph 7, page 2`. */
export function describeLocation(block: Pick<Block, 'heading' | 'paragraph' | 'page'>): string {
  const parts = [];
  if (block.heading) parts.push(`section "${block.heading}"`);
  parts.push(`paragraph ${block.paragraph}`);
  if (block.page !== null) parts.push(`page ${block.page}`);
  return parts.join(', ');
}

const collapse = (text: string): string => text.replace(/\s+/g, ' ').trim();

/** A line that reads as a heading in plain text: short, no closing full stop, numbered or in capitals. */
function plainHeading(line: string): boolean {
  const trimmed = line.trim();
  if (trimmed.length === 0 || trimmed.length > 80 || /[.;:,]$/.test(trimmed)) return false;
  return /^(?:(?:section|article|clause|schedule)\s+)?\d+(?:\.\d+)*\.?\s+\S/i.test(trimmed) || (/[A-Z]/.test(trimmed) && trimmed === trimmed.toUpperCase());
}

interface Piece { kind: 'heading' | 'paragraph'; text: string; page: number | null }

function number(pieces: Piece[]): Block[] {
  const blocks: Block[] = [];
  let heading: string | null = null;
  for (const piece of pieces) {
    const text = collapse(piece.text);
    if (text === '') continue;
    if (piece.kind === 'heading') heading = text;
    else blocks.push({ text, heading, paragraph: blocks.length + 1, page: piece.page });
  }
  return blocks;
}

function plainPieces(text: string, page: number | null, markdown: boolean): Piece[] {
  const pieces: Piece[] = [];
  let lines: string[] = [];
  const flush = () => {
    if (lines.length > 0) pieces.push({ kind: 'paragraph', text: lines.join(' '), page });
    lines = [];
  };
  for (const raw of text.replace(/\r\n?/g, '\n').split('\n')) {
    const line = raw.trim();
    const markdownHeading = markdown ? /^#{1,6}\s+(.*)$/.exec(line) : null;
    if (line === '') flush();
    else if (markdownHeading) {
      flush();
      pieces.push({ kind: 'heading', text: markdownHeading[1]!.replace(/[*_`]/g, ''), page });
    } else if (!markdown && lines.length === 0 && plainHeading(line)) {
      pieces.push({ kind: 'heading', text: line, page });
    } else if (/^(?:[-*+]|\d+[.)]|\([a-z]{1,4}\))\s+/.test(line) && lines.length > 0) {
      // A list item is its own paragraph, so each obligation has its own number.
      flush();
      lines.push(line);
    } else lines.push(markdown ? line.replace(/[*_`]/g, '') : line);
  }
  flush();
  return pieces;
}

/** Markdown: `#` headings, blank-line paragraphs, each list item a paragraph. */
export function markdownBlocks(text: string): Block[] {
  return number(plainPieces(text, null, true));
}

/** Plain text: blank-line paragraphs; short numbered or capitalised lines are headings. */
export function plainTextBlocks(text: string): Block[] {
  return number(plainPieces(text, null, false));
}

/**
 * Pages of text (a PDF's), paragraphs numbered across pages. Extracted PDF text has no blank lines between
 * paragraphs, so a line that ends a sentence ends its paragraph too.
 */
export function pagedBlocks(pages: readonly string[]): Block[] {
  return number(pages.flatMap((text, index) => plainPieces(text.replace(/([.;!?]["')]?)[ \t]*\n/g, '$1\n\n'), index + 1, false)));
}

const entities: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: ' ', '#39': "'" };
const decode = (text: string): string => text.replace(/<[^>]+>/g, '').replace(/&(#?\w+);/g, (whole, name: string) =>
  entities[name] ?? (name.startsWith('#') ? String.fromCodePoint(Number(name.slice(1))) : whole));

/** HTML as mammoth writes a .docx: <h1>–<h6> headings, <p> and <li> paragraphs. */
export function htmlBlocks(html: string): Block[] {
  const pieces: Piece[] = [];
  for (const match of html.matchAll(/<(h[1-6]|p|li)\b[^>]*>([\s\S]*?)<\/\1>/gi)) {
    const text = decode(match[2]!);
    const kind = match[1]!.toLowerCase().startsWith('h') || (plainHeading(text) && text.split(/\s+/).length <= 8) ? 'heading' : 'paragraph';
    pieces.push({ kind, text, page: null });
  }
  return number(pieces);
}

/** Sentences of a paragraph, with their offsets; "e.g.", "i.e.", decimals and section numbers do not end one. */
export function sentences(text: string): { text: string; index: number }[] {
  const found: { text: string; index: number }[] = [];
  const boundary = /(?<!\b(?:e\.g|i\.e|etc|no|sec|art|cl|vs))[.;!?](?=\s+[A-Z("“0-9])/g;
  let start = 0;
  for (const match of text.matchAll(boundary)) {
    const end = match.index + 1;
    if (/\d$/.test(text.slice(0, match.index)) && /^\s+\d/.test(text.slice(end))) continue;
    found.push({ text: text.slice(start, end).trim(), index: start });
    start = end;
  }
  if (text.slice(start).trim() !== '') found.push({ text: text.slice(start).trim(), index: start });
  return found;
}
