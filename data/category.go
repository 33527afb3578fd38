package data

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
)

// CategoryName is how an L1 category is named to people, per language;
// an empty name falls back to the category's own id (its slug).
type CategoryName struct {
	ZH string `json:"zh,omitempty"` // Simplified Chinese
	EN string `json:"en,omitempty"`
}

// CategoryNamesFile is the optional file of a world directory that names its
// L1 categories: a JSON object from category id to CategoryName, e.g.
// {"home": {"zh": "家居日用", "en": "home goods"}}.
const CategoryNamesFile = "categories.json"

// ReadCategoryNames reads dir's CategoryNamesFile; a directory without one
// gives nil (categories are then named by their ids).
func ReadCategoryNames(dir string) (map[string]CategoryName, error) {
	p := filepath.Join(dir, CategoryNamesFile)
	b, err := os.ReadFile(p)
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out map[string]CategoryName
	if err := json.Unmarshal(b, &out); err != nil {
		return nil, fmt.Errorf("%s: %w: %v", p, ErrInvalid, err)
	}
	return out, nil
}

// Name is the category's name in lang ("zh" or "en"), or its id.
func (n CategoryName) Name(lang, id string) string {
	switch {
	case lang == "en" && n.EN != "":
		return n.EN
	case lang != "en" && n.ZH != "":
		return n.ZH
	}
	return id
}
