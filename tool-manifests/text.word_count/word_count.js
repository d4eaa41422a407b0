// Counts words (runs of letters, digits, apostrophes and hyphens in any script),
// lines and characters (code points, not UTF-16 units).
export default function run(input) {
  const text = input.text;
  const words = text.match(/[\p{L}\p{N}][\p{L}\p{N}'’-]*/gu);
  return {
    words: words ? words.length : 0,
    lines: text === '' ? 0 : text.split(/\r\n|\r|\n/).length,
    characters: [...text].length,
  };
}
