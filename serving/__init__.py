"""The live chat bot: sources, micro-batcher, rules + model, actions, answers, decision log, API."""
