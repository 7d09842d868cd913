// Test helper: .docx and .pdf contracts generated from the Markdown fixtures, so no binary fixture is committed.
import JSZip from 'jszip';
import { PDFDocument, StandardFonts } from 'pdf-lib';

const escape = (text: string): string => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** Headings (`#`) and paragraphs of a Markdown fixture. */
function parts(markdown: string): { heading: boolean; text: string }[] {
  return markdown.split(/\n\s*\n/).map((chunk) => chunk.trim()).filter(Boolean)
    .map((chunk) => (/^#+\s/.test(chunk) ? { heading: true, text: chunk.replace(/^#+\s+/, '') } : { heading: false, text: chunk.replace(/\s+/g, ' ') }));
}

/** A minimal valid WordprocessingML package (ECMA-376): content types, relationships, styles, document. */
export async function docxFromMarkdown(markdown: string): Promise<Buffer> {
  const zip = new JSZip();
  zip.file('[Content_Types].xml', `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">
  <Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>
  <Default Extension="xml" ContentType="application/xml"/>
  <Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/>
  <Override PartName="/word/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.styles+xml"/>
</Types>`);
  zip.file('_rels/.rels', `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">
  <Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/>
</Relationships>`);
  zip.file('word/_rels/document.xml.rels', `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">
  <Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" Target="styles.xml"/>
</Relationships>`);
  zip.file('word/styles.xml', `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<w:styles xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">
  <w:style w:type="paragraph" w:styleId="Heading1"><w:name w:val="heading 1"/></w:style>
</w:styles>`);
  const body = parts(markdown).map((part) => part.heading
    ? `<w:p><w:pPr><w:pStyle w:val="Heading1"/></w:pPr><w:r><w:t xml:space="preserve">${escape(part.text)}</w:t></w:r></w:p>`
    : `<w:p><w:r><w:t xml:space="preserve">${escape(part.text)}</w:t></w:r></w:p>`).join('');
  zip.file('word/document.xml', `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>${body}</w:body></w:document>`);
  return zip.generateAsync({ type: 'nodebuffer' });
}

function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line && `${line} ${word}`.length > width) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) lines.push(line);
  return lines;
}

/** A PDF with each section (heading and its paragraphs) on its own page, lines wrapped, a blank line between paragraphs. */
export async function pdfFromMarkdown(markdown: string): Promise<Buffer> {
  const document = await PDFDocument.create();
  const font = await document.embedFont(StandardFonts.Helvetica);
  let page = document.addPage();
  let y = 780;
  let first = true;
  for (const part of parts(markdown)) {
    if (part.heading && !first) {
      page = document.addPage();
      y = 780;
    }
    first = false;
    for (const line of wrap(part.text.replace(/[’‘]/g, "'"), 90)) {
      page.drawText(line, { x: 40, y, size: 10, font });
      y -= 14;
    }
    y -= 14;
  }
  return Buffer.from(await document.save());
}
