// Package clientgen makes a realistic population of clients for tests and
// benchmarks of the register's search: names from the languages the portal
// serves, written in Latin letters the ways people and registers really
// write them (Mohammed, Muhammad and Mohamed; Oleksandr and Olexandr;
// Nguyễn and Nguyen), phone numbers in the formats people type, dates of
// birth, languages and interpreter needs. The same seed gives the same
// people.
package clientgen

import (
	"fmt"
	"math/rand/v2"
	"time"
)

// Person is one generated client.
type Person struct {
	FirstNames, LastName string
	BirthDate            time.Time
	Language             string // the client's preferred language
	InterpreterLanguage  string // "" when none is needed
	Phone                string // "" for some
}

// name is one name with its spellings; the first is the most common.
type name []string

// origin is a language group's names, and its share of clients.
type origin struct {
	language    string
	weight      int
	interpreter bool // many need an interpreter
	male        []name
	female      []name
	last        []name
	femaleLast  func(string) string // the female form of a last name, if the language has one
}

func n(spellings ...string) name { return spellings }

func names(s ...string) []name {
	out := make([]name, len(s))
	for i, x := range s {
		out[i] = name{x}
	}
	return out
}

// origins are weighted roughly as foreign-language speakers live in Finland
// (Russian, Ukrainian, Estonian, Arabic, Somali, Persian and Dari, Kurdish,
// Chinese, Vietnamese, English), with Finnish and Swedish names as well.
var origins = []origin{
	{language: "ru", weight: 15, interpreter: true,
		male:       []name{n("Aleksandr", "Alexander", "Aleksander"), n("Sergei", "Sergey"), n("Dmitri", "Dmitry", "Dmitriy"), n("Andrei", "Andrey"), n("Mikhail", "Mihail"), n("Ivan"), n("Nikolai", "Nikolay"), n("Yuri", "Yury", "Juri"), n("Alexei", "Aleksei", "Alexey"), n("Vladimir")},
		female:     []name{n("Olga"), n("Tatiana", "Tatyana"), n("Natalia", "Natalya"), n("Yelena", "Elena", "Jelena"), n("Irina"), n("Svetlana"), n("Anastasia", "Anastasiya"), n("Ekaterina", "Yekaterina")},
		last:       []name{n("Ivanov"), n("Smirnov"), n("Kuznetsov", "Kuznetsow"), n("Popov"), n("Vasiliev", "Vasilyev"), n("Petrov"), n("Sokolov"), n("Mikhailov", "Mihailov"), n("Novikov"), n("Fedorov", "Fyodorov"), n("Morozov"), n("Volkov"), n("Lebedev"), n("Semenov", "Semyonov")},
		femaleLast: func(s string) string { return s + "a" }},
	{language: "uk", weight: 15, interpreter: true,
		male:   []name{n("Oleksandr", "Olexandr", "Oleksander"), n("Andrii", "Andriy"), n("Serhii", "Serhiy"), n("Dmytro"), n("Volodymyr"), n("Mykola"), n("Yurii", "Yuriy", "Iurii"), n("Taras"), n("Bohdan"), n("Oleh", "Oleg")},
		female: []name{n("Olena"), n("Oksana"), n("Iryna"), n("Tetiana", "Tetyana"), n("Nataliia", "Natalia"), n("Kateryna"), n("Yuliia", "Yulia"), n("Anastasiia", "Anastasia"), n("Viktoriia", "Viktoria")},
		last:   []name{n("Shevchenko", "Ševčenko"), n("Kovalenko"), n("Bondarenko"), n("Tkachenko"), n("Kravchenko", "Kravtšenko"), n("Melnyk"), n("Boiko", "Boyko"), n("Kovalchuk"), n("Oliinyk", "Oliynyk"), n("Lysenko"), n("Marchenko"), n("Savchenko"), n("Rudenko"), n("Moroz")}},
	{language: "et", weight: 8,
		male:   names("Jaan", "Toomas", "Andres", "Priit", "Mart", "Rein", "Tõnu", "Margus", "Urmas"),
		female: names("Kadri", "Kristi", "Liis", "Maarja", "Triin", "Ülle", "Piret", "Tiiu"),
		last:   names("Tamm", "Saar", "Sepp", "Mägi", "Kask", "Kukk", "Rebane", "Ilves", "Pärn", "Koppel", "Lepik", "Kallas")},
	{language: "ar", weight: 12, interpreter: true,
		male:   []name{n("Mohammed", "Muhammad", "Mohamed", "Mohammad", "Muhammed"), n("Ahmed", "Ahmad"), n("Ali"), n("Hassan", "Hasan"), n("Hussein", "Husain", "Hussain"), n("Omar", "Umar"), n("Khalid", "Khaled"), n("Abdullah", "Abdallah"), n("Youssef", "Yusuf", "Yousef"), n("Ibrahim"), n("Mustafa", "Mostafa"), n("Karim", "Kareem")},
		female: []name{n("Fatima", "Fatma"), n("Aisha", "Ayesha", "Aischa"), n("Mariam", "Maryam"), n("Zainab", "Zeinab"), n("Noor", "Nur"), n("Amina", "Aminah"), n("Layla", "Leila", "Laila"), n("Huda", "Houda"), n("Rania")},
		last:   []name{n("Al-Sayed", "Alsayed", "El-Sayed"), n("Hassan", "Hasan"), n("Hussein", "Husein"), n("Ali"), n("Mahmoud", "Mahmud"), n("Abdullah"), n("Ibrahim"), n("Khalil"), n("Haddad"), n("Al-Ahmad"), n("Saleh", "Salih"), n("Nasser", "Naser"), n("Al-Obaidi"), n("Jaber", "Jabir")}},
	{language: "so", weight: 6, interpreter: true,
		male:   []name{n("Abdi"), n("Mohamed", "Maxamed", "Mohammed"), n("Ahmed", "Axmed"), n("Abdirahman", "Abdurahman"), n("Hassan", "Xasan"), n("Ali", "Cali"), n("Yusuf"), n("Abdullahi")},
		female: []name{n("Amina"), n("Hodan"), n("Fadumo", "Faadumo"), n("Hawa", "Xaawo"), n("Sahra", "Sahro"), n("Ayaan"), n("Nimco", "Nimo"), n("Ifrah")},
		last:   []name{n("Warsame"), n("Farah", "Faarax"), n("Mohamud", "Maxamuud", "Mahmoud"), n("Abdi", "Cabdi"), n("Hussein", "Xuseen"), n("Osman", "Cismaan"), n("Hirsi"), n("Jama", "Jaamac"), n("Omar", "Cumar"), n("Aden", "Aadan"), n("Egal")}},
	{language: "fa", weight: 6, interpreter: true,
		male:   []name{n("Ahmad"), n("Mohammad", "Mohammed"), n("Reza"), n("Ali"), n("Hossein", "Hussein"), n("Mehdi", "Mahdi"), n("Amir"), n("Javad", "Jawad"), n("Farid"), n("Hamid")},
		female: []name{n("Fatemeh", "Fatima"), n("Zahra"), n("Maryam"), n("Sara"), n("Narges", "Nargis"), n("Parisa"), n("Shirin"), n("Mahsa")},
		last:   []name{n("Ahmadi"), n("Mohammadi"), n("Hosseini", "Husseini"), n("Rahimi"), n("Karimi"), n("Rezaei", "Rezai"), n("Hashemi"), n("Jafari", "Jafary"), n("Sultani", "Soltani"), n("Azizi"), n("Haidari", "Heydari")}},
	{language: "ckb", weight: 4, interpreter: true,
		male:   names("Azad", "Karwan", "Rebwar", "Shwan", "Dilshad", "Hemin", "Aram", "Soran"),
		female: names("Shilan", "Nasrin", "Rojin", "Avin", "Berivan", "Hana", "Shno"),
		last:   []name{n("Karim"), n("Rashid"), n("Ahmed"), n("Mustafa"), n("Omer", "Omar"), n("Aziz"), n("Qadir", "Kadir"), n("Salih"), n("Hama")}},
	{language: "zh-Hans", weight: 4, interpreter: true,
		male:   names("Wei", "Jun", "Lei", "Hao", "Tao", "Ming", "Jian", "Yong"),
		female: names("Fang", "Na", "Xiuying", "Jing", "Yan", "Min", "Li"),
		last:   names("Wang", "Li", "Zhang", "Liu", "Chen", "Yang", "Huang", "Zhao", "Wu", "Zhou")},
	{language: "vi", weight: 4, interpreter: true,
		male:   []name{n("Văn Minh", "Van Minh"), n("Đức Anh", "Duc Anh"), n("Quang Huy"), n("Minh Tuấn", "Minh Tuan"), n("Hoàng Nam", "Hoang Nam"), n("Thành Long", "Thanh Long")},
		female: []name{n("Thị Lan", "Thi Lan"), n("Thị Hương", "Thi Huong"), n("Thu Trang"), n("Ngọc Anh", "Ngoc Anh"), n("Thị Mai", "Thi Mai"), n("Phương Linh", "Phuong Linh")},
		last:   []name{n("Nguyễn", "Nguyen"), n("Trần", "Tran"), n("Lê", "Le"), n("Phạm", "Pham"), n("Hoàng", "Hoang"), n("Huỳnh", "Huynh"), n("Vũ", "Vu"), n("Đặng", "Dang"), n("Bùi", "Bui"), n("Đỗ", "Do")}},
	{language: "en", weight: 5,
		male:   names("James", "John", "David", "Michael", "Daniel", "Samuel", "Joseph"),
		female: names("Mary", "Sarah", "Emma", "Olivia", "Grace", "Esther", "Blessing"),
		last:   names("Smith", "Jones", "Brown", "Taylor", "Williams", "Okafor", "Mensah", "Mwangi")},
	{language: "fi", weight: 12,
		male:   names("Matti", "Juha", "Mikko", "Timo", "Antti", "Jukka", "Pekka", "Ville", "Janne", "Eero", "Onni", "Väinö"),
		female: names("Anna", "Maria", "Aino", "Helmi", "Sanna", "Päivi", "Tiina", "Johanna", "Sofia", "Eevi", "Kaisa", "Minna"),
		last:   names("Korhonen", "Virtanen", "Mäkinen", "Nieminen", "Mäkelä", "Hämäläinen", "Laine", "Heikkinen", "Koskinen", "Järvinen", "Lehtonen", "Lehtinen", "Saarinen", "Salminen", "Heinonen", "Niemi", "Heikkilä", "Kinnunen", "Salonen", "Turunen")},
	{language: "sv", weight: 4,
		male:   names("Erik", "Johan", "Lars", "Anders", "Karl", "Nils", "Oskar", "Mikael"),
		female: names("Anna", "Elin", "Karin", "Ingrid", "Sofia", "Ebba", "Linnéa", "Maja"),
		last:   names("Andersson", "Johansson", "Karlsson", "Nilsson", "Eriksson", "Lindqvist", "Holmström", "Sjöberg", "Åberg", "Lindström", "Strömberg", "Lindholm")},
}

var totalWeight = func() int {
	t := 0
	for _, o := range origins {
		t += o.weight
	}
	return t
}()

// Gen makes people one after another.
type Gen struct {
	r *rand.Rand
}

// New returns a generator; the same seed gives the same people.
func New(seed uint64) *Gen { return &Gen{r: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))} }

func (g *Gen) pick(ns []name) string {
	spellings := ns[g.r.IntN(len(ns))]
	// The common spelling half the time, any other the rest.
	if len(spellings) == 1 || g.r.IntN(2) == 0 {
		return spellings[0]
	}
	return spellings[1+g.r.IntN(len(spellings)-1)]
}

func (g *Gen) origin() origin {
	w := g.r.IntN(totalWeight)
	for _, o := range origins {
		if w < o.weight {
			return o
		}
		w -= o.weight
	}
	return origins[0]
}

// Next is the next person.
func (g *Gen) Next() Person {
	o := g.origin()
	female := g.r.IntN(2) == 0
	firsts := o.male
	if female {
		firsts = o.female
	}
	p := Person{FirstNames: g.pick(firsts), LastName: g.pick(o.last), Language: o.language}
	if g.r.IntN(10) < 3 {
		if second := g.pick(firsts); second != p.FirstNames {
			p.FirstNames += " " + second
		}
	}
	if female && o.femaleLast != nil {
		p.LastName = o.femaleLast(p.LastName)
	}
	p.BirthDate = time.Date(1950+g.r.IntN(58), time.Month(1+g.r.IntN(12)), 1+g.r.IntN(28), 0, 0, 0, 0, time.UTC)
	if o.interpreter && g.r.IntN(10) < 4 {
		p.InterpreterLanguage = o.language
	}
	if g.r.IntN(10) < 9 {
		p.Phone = g.phone()
	}
	return p
}

// phone is a Finnish mobile number, typed one of the ways people type it.
func (g *Gen) phone() string {
	prefix := []string{"40", "41", "44", "45", "46", "50"}[g.r.IntN(6)]
	a, b := g.r.IntN(1000), g.r.IntN(10000)
	switch g.r.IntN(4) {
	case 0:
		return fmt.Sprintf("0%s %03d %04d", prefix, a, b)
	case 1:
		return fmt.Sprintf("+358%s%03d%04d", prefix, a, b)
	case 2:
		return fmt.Sprintf("0%s%03d%04d", prefix, a, b)
	}
	return fmt.Sprintf("+358 %s %03d%04d", prefix, a, b)
}
