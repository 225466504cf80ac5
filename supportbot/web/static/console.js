/* supportbot agent console: sign-in, conversations, transcripts, the live queue and analytics.
 * One page (console_pages.py) loads this ES module; each view is a module under console/, drawn
 * with lit-html (static/vendor/lit-html/), which escapes every value it puts on screen: customer
 * text, agent names, tags, notes and entity values are attacker-controlled and stay text.
 * Views by hash route: #/conversations?filters, #/conversations/<id>, #/queue, #/queue/<id>,
 * #/analytics?period, #/privacy. */

import { analyticsView } from "./console/analytics.js";
import { conversationsView } from "./console/conversations.js";
import { privacyView } from "./console/privacy.js";
import { queueView } from "./console/queue.js";
import { startRouter } from "./console/router.js";
import { startSignIn } from "./console/signin.js";
import { transcriptView } from "./console/transcript.js";

startRouter({
  conversations: (view, { id, params }) => (id ? transcriptView(view, id) : conversationsView(view, params)),
  queue: (view, { id }) => queueView(view, id),
  analytics: (view, { params }) => analyticsView(view, params),
  privacy: (view) => privacyView(view)
});
startSignIn();
