/* What the console keeps between views for the signed-in agent. */
export const session = {
  agent: null,                 // the signed-in agent ({id, name, ...}), null when signed out
  listHash: "#/conversations", // the last conversations list shown, for the transcript's back link
  flash: null                  // a confirmation to show on the next view
};
