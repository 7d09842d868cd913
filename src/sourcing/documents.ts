// Reads a contract file (.md, .txt, .docx with mammoth, .pdf with unpdf) into located paragraphs.
import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import { htmlBlocks, markdownBlocks, pagedBlocks, plainTextBlocks, type Block } from './document-blocks.js';

export type DocumentFormat = 'md' | 'txt' | 'docx' | 'pdf';

export interface ContractDocument {
  format: DocumentFormat;
  blocks: Block[];
  /** The whole text, paragraphs separated by blank lines. */
  text: string;
  bytes: Buffer;
}

/** The file cannot be read as a contract (unknown type, corrupt, empty): the CLI's exit 2. */
export class UnreadableDocumentError extends Error {}

export function documentFormat(path: string): DocumentFormat {
  const extension = extname(path).toLowerCase();
  if (extension === '.md' || extension === '.markdown') return 'md';
  if (extension === '.txt' || extension === '.text') return 'txt';
  if (extension === '.docx') return 'docx';
  if (extension === '.pdf') return 'pdf';
  throw new UnreadableDocumentError(`${path}: cannot read ${extension || 'a file without an extension'}; use .md, .txt, .docx or .pdf`);
}

async function parse(format: DocumentFormat, bytes: Buffer): Promise<Block[]> {
  if (format === 'md') return markdownBlocks(bytes.toString('utf8'));
  if (format === 'txt') return plainTextBlocks(bytes.toString('utf8'));
  if (format === 'docx') {
    const mammoth = await import('mammoth');
    const { value } = await (mammoth.default ?? mammoth).convertToHtml({ buffer: bytes });
    return htmlBlocks(value);
  }
  const { extractText, getDocumentProxy } = await import('unpdf');
  const pdf = await getDocumentProxy(new Uint8Array(bytes));
  const { text } = await extractText(pdf, { mergePages: false });
  return pagedBlocks(text);
}

/**
 * Read a contract; throws UnreadableDocumentError when it is not one.
 * @example const document = await readContractDocument('drafts/vendor-msa.docx');
 */
export async function readContractDocument(path: string): Promise<ContractDocument> {
  const format = documentFormat(path);
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (error) {
    throw new UnreadableDocumentError(`${path}: ${(error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message}`);
  }
  let blocks: Block[];
  try {
    blocks = await parse(format, bytes);
  } catch (error) {
    throw new UnreadableDocumentError(`${path}: not a readable ${format} file (${(error as Error).message.split('\n')[0]})`);
  }
  if (blocks.length === 0) throw new UnreadableDocumentError(`${path}: no text found`);
  return { format, blocks, text: blocks.map((block) => block.text).join('\n\n'), bytes };
}
