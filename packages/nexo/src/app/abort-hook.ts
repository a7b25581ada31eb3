// The key lives below the app so the surfaces and runs that set it need not import the app.
export { ON_ABORTABLE } from "../util/index.js";
