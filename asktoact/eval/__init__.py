"""Interactive evaluation: assistants, persona user simulator, episode loop, AskToAct metrics."""
