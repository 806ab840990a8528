"""Review of held TPS results by recap officers: claims, four eyes, retake requests."""
