// Encodes texts with Hugging Face's tokenizers library (npm "tokenizers", the Node binding of the Rust crate)
// reading a tokenizer.json that BertLab wrote. Driven by BertLab.Tests (Model/ModelFilesTests.cs).
// usage: node hf-tokenize.cjs TOKENIZER_JSON INPUT_JSON OUTPUT_JSON
//   INPUT_JSON: an array whose items are a string or a [first, second] pair
//   OUTPUT_JSON: an array of {"ids": [...], "type_ids": [...]} in input order
'use strict';
const fs = require('fs');
const { Tokenizer } = require('tokenizers');

async function main() {
  const [tokenizerPath, inputPath, outputPath] = process.argv.slice(2);
  if (!outputPath) throw new Error('usage: node hf-tokenize.cjs TOKENIZER_JSON INPUT_JSON OUTPUT_JSON');
  const tokenizer = Tokenizer.fromFile(tokenizerPath);
  const items = JSON.parse(fs.readFileSync(inputPath, 'utf8'));
  const out = [];
  for (const item of items) {
    const e = Array.isArray(item) ? await tokenizer.encode(item[0], item[1]) : await tokenizer.encode(item);
    out.push({ ids: Array.from(e.getIds()), type_ids: Array.from(e.getTypeIds()) });
  }
  fs.writeFileSync(outputPath, JSON.stringify(out));
}

main().catch(err => { console.error(err && err.stack ? err.stack : String(err)); process.exit(1); });
