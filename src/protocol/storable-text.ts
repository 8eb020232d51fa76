/** NUL and unpaired UTF-16 surrogates: PostgreSQL stores neither in text nor in jsonb. */
export const UNSTORABLE_TEXT = /\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

export const UNSTORABLE_TEXT_MESSAGE = 'text must not contain NUL characters or unpaired surrogates';

const UNSTORABLE_TEXT_EVERYWHERE = new RegExp(UNSTORABLE_TEXT.source, 'g');

/** `text` with what PostgreSQL cannot store replaced by U+FFFD, for logging what came in as it was. */
export const storableText = (text: string) => text.replace(UNSTORABLE_TEXT_EVERYWHERE, '\ufffd');
