// PEM private key blocks (`-----BEGIN [RSA |EC |OPENSSH |ENCRYPTED ]PRIVATE KEY-----` … `-----END …
// PRIVATE KEY-----`), multi-line or with escaped newlines as they appear inside JSON.
//
// Found with indexOf rather than a lazy `[\s\S]*?` regex: with many BEGIN lines and no END, the
// regex rescans to the end of the value from each BEGIN (quadratic). A BEGIN line without a
// matching END is masked to the end of the value: a truncated key is still a key (fail closed).

const HEADER = /-----BEGIN (?:[A-Z0-9]+ ){0,4}PRIVATE KEY-----/y;
const FOOTER = /-----END (?:[A-Z0-9]+ ){0,4}PRIVATE KEY-----/y;

export function findPemPrivateKeys(text: string, emit: (start: number, end: number) => void): void {
  let from = 0;
  for (let begin = text.indexOf('-----BEGIN ', from); begin !== -1; begin = text.indexOf('-----BEGIN ', from)) {
    HEADER.lastIndex = begin;
    if (!HEADER.test(text)) {
      from = begin + 1;
      continue;
    }
    const end = footerEnd(text, HEADER.lastIndex);
    emit(begin, end);
    from = end;
  }
}

function footerEnd(text: string, from: number): number {
  for (let at = text.indexOf('-----END ', from); at !== -1; at = text.indexOf('-----END ', at + 1)) {
    FOOTER.lastIndex = at;
    if (FOOTER.test(text)) return FOOTER.lastIndex;
  }
  return text.length;
}
