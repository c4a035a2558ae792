// Approval ids are typed by humans (`sidegate approvals approve apr-7k2m9q`), so they are short and
// use an alphabet without look-alikes (no 0/o, 1/l/i). They are names, not secrets: knowing one
// grants nothing without a broker token.
import { randomInt } from 'node:crypto';

const ALPHABET = 'abcdefghjkmnpqrstuvwxyz23456789';
const LENGTH = 6;
const ID_PATTERN = new RegExp(`^apr-[${ALPHABET}]{${LENGTH}}$`);

/** A fresh id that `taken` does not hold. 31^6 ≈ 8.9e8 ids, so retries are rare. */
export function newApprovalId(taken: (id: string) => boolean): string {
  for (;;) {
    let id = 'apr-';
    for (let i = 0; i < LENGTH; i++) id += ALPHABET[randomInt(ALPHABET.length)];
    if (!taken(id)) return id;
  }
}

/** Whether `text` has the shape of an approval id (checked before it is echoed or looked up). */
export function isApprovalId(text: string): boolean {
  return ID_PATTERN.test(text);
}
