// The protocol's numeric vocabulary: capability and status flags, command bytes, column types
// and flags, collation ids and the character set each belongs to. Names follow MySQL's and
// MariaDB's headers (mysql_com.h, mariadb_com.h) so they can be looked up there.

// Capability flags (int<4> in the handshake). JS bit operations on bit 31 give negative
// numbers: test with `(caps & FLAG) !== 0` and combine with `>>> 0`.
/** MySQL's CLIENT_LONG_PASSWORD; MariaDB calls it CLIENT_MYSQL and leaves it unset to say it speaks MariaDB's extensions. */
export const CLIENT_LONG_PASSWORD = 0x00000001;
export const CLIENT_MYSQL = CLIENT_LONG_PASSWORD;
export const CLIENT_FOUND_ROWS = 0x00000002;
export const CLIENT_LONG_FLAG = 0x00000004;
export const CLIENT_CONNECT_WITH_DB = 0x00000008;
export const CLIENT_NO_SCHEMA = 0x00000010;
export const CLIENT_COMPRESS = 0x00000020;
export const CLIENT_ODBC = 0x00000040;
export const CLIENT_LOCAL_FILES = 0x00000080;
export const CLIENT_IGNORE_SPACE = 0x00000100;
export const CLIENT_PROTOCOL_41 = 0x00000200;
export const CLIENT_INTERACTIVE = 0x00000400;
export const CLIENT_SSL = 0x00000800;
export const CLIENT_IGNORE_SIGPIPE = 0x00001000;
export const CLIENT_TRANSACTIONS = 0x00002000;
export const CLIENT_RESERVED = 0x00004000;
export const CLIENT_SECURE_CONNECTION = 0x00008000;
export const CLIENT_MULTI_STATEMENTS = 0x00010000;
export const CLIENT_MULTI_RESULTS = 0x00020000;
export const CLIENT_PS_MULTI_RESULTS = 0x00040000;
export const CLIENT_PLUGIN_AUTH = 0x00080000;
export const CLIENT_CONNECT_ATTRS = 0x00100000;
export const CLIENT_PLUGIN_AUTH_LENENC_CLIENT_DATA = 0x00200000;
export const CLIENT_CAN_HANDLE_EXPIRED_PASSWORDS = 0x00400000;
export const CLIENT_SESSION_TRACK = 0x00800000;
export const CLIENT_DEPRECATE_EOF = 0x01000000;
export const CLIENT_OPTIONAL_RESULTSET_METADATA = 0x02000000;
export const CLIENT_ZSTD_COMPRESSION_ALGORITHM = 0x04000000;
export const CLIENT_QUERY_ATTRIBUTES = 0x08000000;
export const CLIENT_MULTI_FACTOR_AUTHENTICATION = 0x10000000;
/** MariaDB uses bit 29 as CLIENT_PROGRESS_OBSOLETE; MySQL as CLIENT_CAPABILITY_EXTENSION. */
export const CLIENT_CAPABILITY_EXTENSION = 0x20000000;
export const CLIENT_SSL_VERIFY_SERVER_CERT = 0x40000000;
export const CLIENT_REMEMBER_OPTIONS = 0x80000000;

// MariaDB's extended capabilities: the upper 32 bits of its 64-bit capability set, sent in the
// handshake's reserved bytes when CLIENT_MYSQL is unset (here shifted down by 32).
export const MARIADB_CLIENT_PROGRESS = 0x00000001;
export const MARIADB_CLIENT_COM_MULTI = 0x00000002;
export const MARIADB_CLIENT_STMT_BULK_OPERATIONS = 0x00000004;
export const MARIADB_CLIENT_EXTENDED_METADATA = 0x00000008;
export const MARIADB_CLIENT_CACHE_METADATA = 0x00000010;
export const MARIADB_CLIENT_BULK_UNIT_RESULTS = 0x00000020;

export function hasFlag(flags: number, flag: number): boolean {
  return (flags & flag) !== 0;
}

// Server status flags (int<2> in OK and EOF packets).
export const SERVER_STATUS_IN_TRANS = 0x0001;
export const SERVER_STATUS_AUTOCOMMIT = 0x0002;
export const SERVER_MORE_RESULTS_EXISTS = 0x0008;
export const SERVER_STATUS_NO_GOOD_INDEX_USED = 0x0010;
export const SERVER_STATUS_NO_INDEX_USED = 0x0020;
export const SERVER_STATUS_CURSOR_EXISTS = 0x0040;
export const SERVER_STATUS_LAST_ROW_SENT = 0x0080;
export const SERVER_STATUS_DB_DROPPED = 0x0100;
/** sql_mode has NO_BACKSLASH_ESCAPES: `\` is an ordinary character inside string literals. */
export const SERVER_STATUS_NO_BACKSLASH_ESCAPES = 0x0200;
export const SERVER_STATUS_METADATA_CHANGED = 0x0400;
export const SERVER_QUERY_WAS_SLOW = 0x0800;
export const SERVER_PS_OUT_PARAMS = 0x1000;
export const SERVER_STATUS_IN_TRANS_READONLY = 0x2000;
export const SERVER_SESSION_STATE_CHANGED = 0x4000;
/** MariaDB: sql_mode has ANSI_QUOTES (`"` quotes identifiers, not strings). */
export const SERVER_STATUS_ANSI_QUOTES = 0x8000;

// Session state change types (in OK packets with CLIENT_SESSION_TRACK).
export const SESSION_TRACK_SYSTEM_VARIABLES = 0x00;
export const SESSION_TRACK_SCHEMA = 0x01;
export const SESSION_TRACK_STATE_CHANGE = 0x02;
export const SESSION_TRACK_GTIDS = 0x03;
export const SESSION_TRACK_TRANSACTION_CHARACTERISTICS = 0x04;
export const SESSION_TRACK_TRANSACTION_STATE = 0x05;

// Command bytes: the first byte of every client packet in the command phase.
export const COM_SLEEP = 0x00;
export const COM_QUIT = 0x01;
export const COM_INIT_DB = 0x02;
export const COM_QUERY = 0x03;
export const COM_FIELD_LIST = 0x04;
export const COM_CREATE_DB = 0x05;
export const COM_DROP_DB = 0x06;
export const COM_REFRESH = 0x07;
export const COM_SHUTDOWN = 0x08;
export const COM_STATISTICS = 0x09;
export const COM_PROCESS_INFO = 0x0a;
export const COM_CONNECT = 0x0b;
export const COM_PROCESS_KILL = 0x0c;
export const COM_DEBUG = 0x0d;
export const COM_PING = 0x0e;
export const COM_TIME = 0x0f;
export const COM_DELAYED_INSERT = 0x10;
export const COM_CHANGE_USER = 0x11;
export const COM_BINLOG_DUMP = 0x12;
export const COM_TABLE_DUMP = 0x13;
export const COM_CONNECT_OUT = 0x14;
export const COM_REGISTER_SLAVE = 0x15;
export const COM_STMT_PREPARE = 0x16;
export const COM_STMT_EXECUTE = 0x17;
export const COM_STMT_SEND_LONG_DATA = 0x18;
export const COM_STMT_CLOSE = 0x19;
export const COM_STMT_RESET = 0x1a;
export const COM_SET_OPTION = 0x1b;
export const COM_STMT_FETCH = 0x1c;
export const COM_DAEMON = 0x1d;
export const COM_BINLOG_DUMP_GTID = 0x1e;
export const COM_RESET_CONNECTION = 0x1f;
export const COM_CLONE = 0x20;
export const COM_SUBSCRIBE_GROUP_REPLICATION_STREAM = 0x21;
/** MariaDB: array binding (STMT_BULK_OPERATIONS). */
export const COM_STMT_BULK_EXECUTE = 0xfa;
/** MariaDB: several commands in one packet (deprecated). */
export const COM_MULTI = 0xfe;

// COM_SET_OPTION values.
export const MYSQL_OPTION_MULTI_STATEMENTS_ON = 0;
export const MYSQL_OPTION_MULTI_STATEMENTS_OFF = 1;

// COM_STMT_EXECUTE flags (cursor types).
export const CURSOR_TYPE_NO_CURSOR = 0x00;
export const CURSOR_TYPE_READ_ONLY = 0x01;
export const CURSOR_TYPE_FOR_UPDATE = 0x02;
export const CURSOR_TYPE_SCROLLABLE = 0x04;
/** MySQL 8 with CLIENT_QUERY_ATTRIBUTES: a parameter count follows the iteration count. */
export const PARAMETER_COUNT_AVAILABLE = 0x08;

// Column types (column definitions, binary rows, COM_STMT_EXECUTE parameter types).
export const MYSQL_TYPE_DECIMAL = 0x00;
export const MYSQL_TYPE_TINY = 0x01;
export const MYSQL_TYPE_SHORT = 0x02;
export const MYSQL_TYPE_LONG = 0x03;
export const MYSQL_TYPE_FLOAT = 0x04;
export const MYSQL_TYPE_DOUBLE = 0x05;
export const MYSQL_TYPE_NULL = 0x06;
export const MYSQL_TYPE_TIMESTAMP = 0x07;
export const MYSQL_TYPE_LONGLONG = 0x08;
export const MYSQL_TYPE_INT24 = 0x09;
export const MYSQL_TYPE_DATE = 0x0a;
export const MYSQL_TYPE_TIME = 0x0b;
export const MYSQL_TYPE_DATETIME = 0x0c;
export const MYSQL_TYPE_YEAR = 0x0d;
export const MYSQL_TYPE_NEWDATE = 0x0e;
export const MYSQL_TYPE_VARCHAR = 0x0f;
export const MYSQL_TYPE_BIT = 0x10;
export const MYSQL_TYPE_TIMESTAMP2 = 0x11;
export const MYSQL_TYPE_DATETIME2 = 0x12;
export const MYSQL_TYPE_TIME2 = 0x13;
export const MYSQL_TYPE_TYPED_ARRAY = 0x14;
export const MYSQL_TYPE_VECTOR = 0xf2;
export const MYSQL_TYPE_INVALID = 0xf3;
export const MYSQL_TYPE_BOOL = 0xf4;
export const MYSQL_TYPE_JSON = 0xf5;
export const MYSQL_TYPE_NEWDECIMAL = 0xf6;
export const MYSQL_TYPE_ENUM = 0xf7;
export const MYSQL_TYPE_SET = 0xf8;
export const MYSQL_TYPE_TINY_BLOB = 0xf9;
export const MYSQL_TYPE_MEDIUM_BLOB = 0xfa;
export const MYSQL_TYPE_LONG_BLOB = 0xfb;
export const MYSQL_TYPE_BLOB = 0xfc;
export const MYSQL_TYPE_VAR_STRING = 0xfd;
export const MYSQL_TYPE_STRING = 0xfe;
export const MYSQL_TYPE_GEOMETRY = 0xff;

const TYPE_NAMES: Record<number, string> = {
  0x00: 'DECIMAL', 0x01: 'TINY', 0x02: 'SHORT', 0x03: 'LONG', 0x04: 'FLOAT', 0x05: 'DOUBLE',
  0x06: 'NULL', 0x07: 'TIMESTAMP', 0x08: 'LONGLONG', 0x09: 'INT24', 0x0a: 'DATE', 0x0b: 'TIME',
  0x0c: 'DATETIME', 0x0d: 'YEAR', 0x0e: 'NEWDATE', 0x0f: 'VARCHAR', 0x10: 'BIT',
  0x11: 'TIMESTAMP2', 0x12: 'DATETIME2', 0x13: 'TIME2', 0x14: 'TYPED_ARRAY', 0xf2: 'VECTOR',
  0xf3: 'INVALID', 0xf4: 'BOOL', 0xf5: 'JSON', 0xf6: 'NEWDECIMAL', 0xf7: 'ENUM', 0xf8: 'SET',
  0xf9: 'TINY_BLOB', 0xfa: 'MEDIUM_BLOB', 0xfb: 'LONG_BLOB', 0xfc: 'BLOB', 0xfd: 'VAR_STRING',
  0xfe: 'STRING', 0xff: 'GEOMETRY',
};

/** `MYSQL_TYPE_LONG` → 'LONG'; unknown → 'UNKNOWN(0x..)'. */
export function columnTypeName(type: number): string {
  return TYPE_NAMES[type] ?? `UNKNOWN(0x${type.toString(16)})`;
}

// Column definition flags (int<2>).
export const NOT_NULL_FLAG = 0x0001;
export const PRI_KEY_FLAG = 0x0002;
export const UNIQUE_KEY_FLAG = 0x0004;
export const MULTIPLE_KEY_FLAG = 0x0008;
export const BLOB_FLAG = 0x0010;
export const UNSIGNED_FLAG = 0x0020;
export const ZEROFILL_FLAG = 0x0040;
export const BINARY_FLAG = 0x0080;
export const ENUM_FLAG = 0x0100;
export const AUTO_INCREMENT_FLAG = 0x0200;
export const TIMESTAMP_FLAG = 0x0400;
export const SET_FLAG = 0x0800;
export const NO_DEFAULT_VALUE_FLAG = 0x1000;
export const ON_UPDATE_NOW_FLAG = 0x2000;
export const NUM_FLAG = 0x8000;
/** In COM_STMT_EXECUTE parameter types: the flag byte's unsigned bit. */
export const PARAM_UNSIGNED_FLAG = 0x80;

// Collation ids of interest (the handshake's character set byte and column definitions).
export const COLLATION_BIG5_CHINESE_CI = 1;
export const COLLATION_LATIN1_SWEDISH_CI = 8;
export const COLLATION_ASCII_GENERAL_CI = 11;
export const COLLATION_SJIS_JAPANESE_CI = 13;
export const COLLATION_GB2312_CHINESE_CI = 24;
export const COLLATION_GBK_CHINESE_CI = 28;
export const COLLATION_UTF8MB3_GENERAL_CI = 33;
export const COLLATION_UTF8MB4_GENERAL_CI = 45;
export const COLLATION_UTF8MB4_BIN = 46;
export const COLLATION_LATIN1_BIN = 47;
export const COLLATION_BINARY = 63;
export const COLLATION_UTF8MB3_BIN = 83;
export const COLLATION_CP932_JAPANESE_CI = 95;
export const COLLATION_UTF8MB4_UNICODE_CI = 224;
export const COLLATION_UTF8MB4_UNICODE_520_CI = 246;
export const COLLATION_GB18030_CHINESE_CI = 248;
export const COLLATION_UTF8MB4_0900_AI_CI = 255;

/**
 * Character sets in which a multibyte character's trailing byte can be 0x5C (`\`) or another
 * ASCII byte, so a byte-wise reading of a string literal differs from the server's (the classic
 * `SET NAMES gbk` escape bypass). ucs2/utf16/utf16le/utf32 are here too: the server refuses them
 * as a client character set, so a client asking for one is not reading bytes as the server does.
 */
export const ASCII_UNSAFE_CHARSETS: ReadonlySet<string> = new Set([
  'big5', 'cp932', 'gbk', 'sjis', 'gb18030', 'ucs2', 'utf16', 'utf16le', 'utf32',
]);

// [first id, last id, character set] for every collation of MariaDB 10.11 (information_schema
// COLLATION_CHARACTER_SET_APPLICABILITY) and MySQL 8 (mysql2's constants/charsets.js); the two
// agree wherever both define an id. MySQL's `utf8` is named `utf8mb3` here, as MariaDB names it.
const COLLATION_RUNS: ReadonlyArray<readonly [number, number, string]> = [
  [1, 1, 'big5'], [2, 2, 'latin2'], [3, 3, 'dec8'], [4, 4, 'cp850'], [5, 5, 'latin1'],
  [6, 6, 'hp8'], [7, 7, 'koi8r'], [8, 8, 'latin1'], [9, 9, 'latin2'], [10, 10, 'swe7'],
  [11, 11, 'ascii'], [12, 12, 'ujis'], [13, 13, 'sjis'], [14, 14, 'cp1251'], [15, 15, 'latin1'],
  [16, 16, 'hebrew'], [18, 18, 'tis620'], [19, 19, 'euckr'], [20, 20, 'latin7'],
  [21, 21, 'latin2'], [22, 22, 'koi8u'], [23, 23, 'cp1251'], [24, 24, 'gb2312'], [25, 25, 'greek'],
  [26, 26, 'cp1250'], [27, 27, 'latin2'], [28, 28, 'gbk'], [29, 29, 'cp1257'], [30, 30, 'latin5'],
  [31, 31, 'latin1'], [32, 32, 'armscii8'], [33, 33, 'utf8mb3'], [34, 34, 'cp1250'],
  [35, 35, 'ucs2'], [36, 36, 'cp866'], [37, 37, 'keybcs2'], [38, 38, 'macce'],
  [39, 39, 'macroman'], [40, 40, 'cp852'], [41, 42, 'latin7'], [43, 43, 'macce'],
  [44, 44, 'cp1250'], [45, 46, 'utf8mb4'], [47, 49, 'latin1'], [50, 52, 'cp1251'],
  [53, 53, 'macroman'], [54, 55, 'utf16'], [56, 56, 'utf16le'], [57, 57, 'cp1256'],
  [58, 59, 'cp1257'], [60, 61, 'utf32'], [62, 62, 'utf16le'], [63, 63, 'binary'],
  [64, 64, 'armscii8'], [65, 65, 'ascii'], [66, 66, 'cp1250'], [67, 67, 'cp1256'],
  [68, 68, 'cp866'], [69, 69, 'dec8'], [70, 70, 'greek'], [71, 71, 'hebrew'], [72, 72, 'hp8'],
  [73, 73, 'keybcs2'], [74, 74, 'koi8r'], [75, 75, 'koi8u'], [76, 76, 'utf8mb3'],
  [77, 77, 'latin2'], [78, 78, 'latin5'], [79, 79, 'latin7'], [80, 80, 'cp850'], [81, 81, 'cp852'],
  [82, 82, 'swe7'], [83, 83, 'utf8mb3'], [84, 84, 'big5'], [85, 85, 'euckr'], [86, 86, 'gb2312'],
  [87, 87, 'gbk'], [88, 88, 'sjis'], [89, 89, 'tis620'], [90, 90, 'ucs2'], [91, 91, 'ujis'],
  [92, 93, 'geostd8'], [94, 94, 'latin1'], [95, 96, 'cp932'], [97, 98, 'eucjpms'],
  [99, 99, 'cp1250'], [101, 124, 'utf16'], [128, 151, 'ucs2'], [159, 159, 'ucs2'],
  [160, 183, 'utf32'], [192, 215, 'utf8mb3'], [223, 223, 'utf8mb3'], [224, 247, 'utf8mb4'],
  [248, 250, 'gb18030'], [253, 253, 'utf8mb3'], [255, 271, 'utf8mb4'], [273, 275, 'utf8mb4'],
  [277, 294, 'utf8mb4'], [296, 298, 'utf8mb4'], [300, 300, 'utf8mb4'], [303, 309, 'utf8mb4'],
  [576, 578, 'utf8mb3'], [608, 610, 'utf8mb4'], [640, 642, 'ucs2'], [672, 674, 'utf16'],
  [736, 738, 'utf32'], [1025, 1025, 'big5'], [1027, 1027, 'dec8'], [1028, 1028, 'cp850'],
  [1030, 1030, 'hp8'], [1031, 1031, 'koi8r'], [1032, 1032, 'latin1'], [1033, 1033, 'latin2'],
  [1034, 1034, 'swe7'], [1035, 1035, 'ascii'], [1036, 1036, 'ujis'], [1037, 1037, 'sjis'],
  [1040, 1040, 'hebrew'], [1042, 1042, 'tis620'], [1043, 1043, 'euckr'], [1046, 1046, 'koi8u'],
  [1048, 1048, 'gb2312'], [1049, 1049, 'greek'], [1050, 1050, 'cp1250'], [1052, 1052, 'gbk'],
  [1054, 1054, 'latin5'], [1056, 1056, 'armscii8'], [1057, 1057, 'utf8mb3'], [1059, 1059, 'ucs2'],
  [1060, 1060, 'cp866'], [1061, 1061, 'keybcs2'], [1062, 1062, 'macce'], [1063, 1063, 'macroman'],
  [1064, 1064, 'cp852'], [1065, 1065, 'latin7'], [1067, 1067, 'macce'], [1069, 1070, 'utf8mb4'],
  [1071, 1071, 'latin1'], [1074, 1075, 'cp1251'], [1077, 1077, 'macroman'], [1078, 1079, 'utf16'],
  [1080, 1080, 'utf16le'], [1081, 1081, 'cp1256'], [1082, 1083, 'cp1257'], [1084, 1085, 'utf32'],
  [1086, 1086, 'utf16le'], [1088, 1088, 'armscii8'], [1089, 1089, 'ascii'], [1090, 1090, 'cp1250'],
  [1091, 1091, 'cp1256'], [1092, 1092, 'cp866'], [1093, 1093, 'dec8'], [1094, 1094, 'greek'],
  [1095, 1095, 'hebrew'], [1096, 1096, 'hp8'], [1097, 1097, 'keybcs2'], [1098, 1098, 'koi8r'],
  [1099, 1099, 'koi8u'], [1101, 1101, 'latin2'], [1102, 1102, 'latin5'], [1103, 1103, 'latin7'],
  [1104, 1104, 'cp850'], [1105, 1105, 'cp852'], [1106, 1106, 'swe7'], [1107, 1107, 'utf8mb3'],
  [1108, 1108, 'big5'], [1109, 1109, 'euckr'], [1110, 1110, 'gb2312'], [1111, 1111, 'gbk'],
  [1112, 1112, 'sjis'], [1113, 1113, 'tis620'], [1114, 1114, 'ucs2'], [1115, 1115, 'ujis'],
  [1116, 1117, 'geostd8'], [1119, 1120, 'cp932'], [1121, 1122, 'eucjpms'], [1125, 1125, 'utf16'],
  [1147, 1147, 'utf16'], [1152, 1152, 'ucs2'], [1174, 1174, 'ucs2'], [1184, 1184, 'utf32'],
  [1206, 1206, 'utf32'], [1216, 1216, 'utf8mb3'], [1238, 1238, 'utf8mb3'], [1248, 1248, 'utf8mb4'],
  [1270, 1270, 'utf8mb4'], [2048, 2215, 'utf8mb3'], [2232, 2247, 'utf8mb3'],
  [2304, 2471, 'utf8mb4'], [2488, 2503, 'utf8mb4'], [2560, 2727, 'ucs2'], [2744, 2759, 'ucs2'],
  [2816, 2983, 'utf16'], [3000, 3015, 'utf16'], [3072, 3239, 'utf32'], [3256, 3271, 'utf32'],
];

/** The character set a collation id belongs to, or undefined for an id neither server defines. */
export function charsetOfCollation(id: number): string | undefined {
  let lo = 0;
  let hi = COLLATION_RUNS.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const [first, last, charset] = COLLATION_RUNS[mid]!;
    if (id < first) hi = mid - 1;
    else if (id > last) lo = mid + 1;
    else return charset;
  }
  return undefined;
}
