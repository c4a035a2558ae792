// mysql_native_password's stored form of a password: '*' and the upper-case hex of
// SHA1(SHA1(password)), what `CREATE USER … IDENTIFIED BY PASSWORD '<hash>'` takes, so the clear
// password is never in a statement's text where a general or slow query log, the processlist or
// a replica could read it. Pure.
import { createHash } from 'node:crypto';

export function nativePasswordHash(password: string): string {
  const stage1 = createHash('sha1').update(password, 'utf8').digest();
  return `*${createHash('sha1').update(stage1).digest('hex').toUpperCase()}`;
}
