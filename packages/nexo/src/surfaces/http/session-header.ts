/** Header a client may set to tie calls to one conversation; it becomes the workflow's `sessionId`. */
export const SESSION_HEADER = "x-session-id";
